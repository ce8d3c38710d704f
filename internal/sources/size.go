package sources

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultMaxResponseBytes is max_response_bytes when a source's settings
// leave it out: above any answer vigil's chunked fetches ask for
// (max_samples_per_request samples at well under 100 bytes each, 25 MB at
// the default), and low enough that decoding one (which takes 6 to 8
// times its bytes in memory: docs/scale.md) stays near 450 MB.
const DefaultMaxResponseBytes ByteSize = 64 << 20

// MaxMaxResponseBytes is the most max_response_bytes may be: an answer
// this large takes some 25-30 GB to decode, and a larger limit is a typo
// (or 2^63-1, whose limit+1 overflowed) rather than a wish.
const MaxMaxResponseBytes ByteSize = 4 << 30

// checkMaxResponseBytes refuses a limit vigil will not read by: none (0
// would refuse every answer) or one past MaxMaxResponseBytes. raw is the
// value as written.
func checkMaxResponseBytes(b ByteSize, raw string) error {
	switch {
	case b == 0:
		return fmt.Errorf("0 would refuse every answer (leave it out for the default, %s)", DefaultMaxResponseBytes)
	case b > MaxMaxResponseBytes:
		return fmt.Errorf("%s is over %s, the most vigil reads of one answer (decoding one takes several times its size in memory)", raw, MaxMaxResponseBytes)
	}
	return nil
}

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
	if b == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", int64(b))
}
