package sources

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultMaxResponseBytes is max_response_bytes when a source's settings
// leave it out: far above any answer vigil's chunked fetches ask for
// (max_samples_per_request samples at well under 100 bytes each), and far
// below what would take a machine's memory.
const DefaultMaxResponseBytes ByteSize = 256 << 20

// ByteSize is a number of bytes in the config file: an integer (bytes) or
// a number with a binary unit, 64MiB or 1 GiB. Decimal units (MB, GB) are
// refused rather than guessed at: tools disagree on what they mean.
type ByteSize int64

var sizeUnits = []struct {
	name string
	mult int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// ParseByteSize reads a size as the config file writes one.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(t, u.name); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || (mult > 1 && n > (1<<62)/mult) {
		return 0, fmt.Errorf("%q is not a size (want bytes, or a whole number with B, KiB, MiB, GiB or TiB: 64MiB)", s)
	}
	return ByteSize(n * mult), nil
}

// UnmarshalYAML reads an integer or a string with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a size (bytes, or a number with a unit: 64MiB)")
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String writes the size in the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range sizeUnits {
		if u.mult > 1 && b != 0 && int64(b)%u.mult == 0 {
			return fmt.Sprintf("%d %s", int64(b)/u.mult, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", int64(b))
}
