package main

import (
	"fmt"
	"path/filepath"

	"github.com/vigil-metrics/vigil/internal/atomicfile"
	"github.com/vigil-metrics/vigil/report"
)

// writeWithImages writes a markdown file's charts beside out, then out
// itself: charts first, so the file never links one not yet there. An
// out that is not a file (a folder, a device) is refused before any
// chart is written (it left charts of a report never written, h32 D4,
// in /dev for --out /dev/null, h33), and a chart that cannot be written
// is said as out's error: the user named out, not the chart.
func writeWithImages(out string, images []report.Image, body []byte) error {
	if err := atomicfile.Replaceable(out); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	for _, im := range images {
		if err := atomicfile.WriteFile(filepath.Join(filepath.Dir(out), im.File), im.SVG); err != nil {
			return fmt.Errorf("--out %s: its chart %s: %w", out, im.File, err)
		}
	}
	if err := atomicfile.WriteFile(out, body); err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	return nil
}
