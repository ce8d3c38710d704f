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

// Restore puts a refused series' baseline back: the next reading counts
// the increment again; a series new in the clone is forgotten again.
func TestRestore(t *testing.T) {
	old := New()
	old.ZeroBase = true
	old.Delta("a", 10)
	next := old.Clone()
	next.Delta("a", 15)
	next.Delta("b", 4)
	next.Restore(old, "a")
	next.Restore(old, "b")
	if inc, _ := next.Delta("a", 16); inc != 6 {
		t.Errorf("a after Restore: %v, want 6 (16 - 10)", inc)
	}
	if inc, _ := next.Delta("b", 5); inc != 5 {
		t.Errorf("b after Restore: %v, want 5 (counted from zero again)", inc)
	}
}
