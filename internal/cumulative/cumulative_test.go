package cumulative

import "testing"

func TestDelta(t *testing.T) {
	tr := New()
	steps := []struct {
		v      float64
		inc    float64
		wantOK bool
	}{
		{100, 0, false}, // baseline
		{130, 30, true},
		{130, 0, true},
		{5, 5, true}, // reset: the new value is the increment
		{12.5, 7.5, true},
	}
	for i, s := range steps {
		inc, ok := tr.Delta("a", s.v)
		if inc != s.inc || ok != s.wantOK {
			t.Errorf("step %d: Delta(%v) = %v, %v; want %v, %v", i, s.v, inc, ok, s.inc, s.wantOK)
		}
	}
	zb := New()
	zb.ZeroBase = true
	if inc, ok := zb.Delta("b", 50); inc != 50 || !ok {
		t.Errorf("ZeroBase first reading = %v, %v; want 50, true", inc, ok)
	}
}

func TestSweep(t *testing.T) {
	tr := New()
	tr.Delta("a", 1)
	tr.Delta("b", 1)
	tr.Sweep()
	tr.Delta("a", 2)
	tr.Sweep()
	if tr.Len() != 1 {
		t.Errorf("Len = %d after b vanished, want 1", tr.Len())
	}
	if _, ok := tr.Delta("b", 9); ok {
		t.Error("b came back without a fresh baseline")
	}
}
