package ingest

import (
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/vigil-metrics/vigil/internal/scrape"
	"github.com/vigil-metrics/vigil/internal/store"
)

// A profile of the import of 3M samples put a third of the time in
// spelling each sample's labels canonically (to key its series) and a
// fifth in the store's series lookup, against a seventh in the parser: the
// same series was resolved again on every line. So each raw spelling of a
// series (name{labels} as written, which the parser hands out) is resolved
// once into an omSpelling, and the lines that follow reuse it. Different
// spellings of one series (labels in another order, le="1.0" and le="1")
// resolve to the same omSeries, so order checks and counter baselines are
// shared exactly as before.

// omSpelling is what one raw spelling of a series resolved to. Only
// spellings that resolved without error are kept: an error ends the import.
type omSpelling struct {
	gen  uint64 // omReader.gen when resolved: a later # TYPE may retype it
	name string
	typ  store.Type
	skip bool              // a _created sample
	dup  string            // a label given twice (such a spelling is not kept)
	lm   map[string]string // until the store resolved the series (id)
	key  string            // name + canonical labels
	st   *omSeries
	id   int64 // store series of (name, typ, lm); 0 until a sample is stored
}

// maxOMSpellings bounds the spelling cache, as maxCachedSpellings does
// the fast readers'.
const maxOMSpellings = 1 << 20

// sample maps one parsed sample (raw: its series as written) to the store
// and adds it. Errors are checked in one order, whether the spelling is
// known or not, so the first fault on a line is the one reported.
func (o *omReader) sample(p textparse.Parser, line int64, raw []byte, ts *int64, v float64) error {
	sp := o.spellings[string(raw)]
	if sp == nil || sp.gen != o.gen || !fastPath {
		var err error
		if sp, err = o.resolve(p, line, raw); err != nil {
			return err
		}
	}
	if sp.skip {
		return nil
	}
	if ts == nil {
		return o.errorf(line, "sample has no timestamp (OpenMetrics import needs one per sample)")
	}
	if *ts < store.MinTimeMS || *ts > store.MaxTimeMS {
		return o.errorf(line, "%w", secondsRangeError(omSeconds(*ts), float64(*ts)/1000))
	}
	if err := store.ValidateValue(store.Gauge, v); err != nil { // NaN, ±Inf
		return o.errorf(line, "%w", err)
	}
	if sp.dup != "" {
		return o.errorf(line, "label %s given twice", sp.dup)
	}
	st := sp.st
	if st.lastLine != 0 && *ts <= st.lastTS {
		return o.errorf(line, "out-of-order sample: %s at %s is not after the sample at line %d (at %s)",
			sp.key, omSeconds(*ts), st.lastLine, omSeconds(st.lastTS))
	}
	st.lastTS, st.lastLine = *ts, line
	if sp.typ == store.Counter {
		prev, seen := st.lastV, st.counted
		st.lastV, st.counted = v, true
		switch {
		case !seen:
			return nil // baseline
		case v >= prev:
			v -= prev
		} // else a reset: the counter restarted from zero, v is the increment
	}
	if sp.id == 0 || !fastPath {
		id, err := o.sink.addSampleID(o.name, line, store.Sample{Name: sp.name, Type: sp.typ, Labels: sp.lm, TS: *ts, Value: v})
		if err != nil {
			return err
		}
		// The store knows the labels now: a file of many series keeps
		// one small struct per spelling, not its label map too.
		sp.id, sp.lm = id, nil
		return nil
	}
	// What Sample.Validate checks beyond the series, which addSampleID
	// checked for this spelling already.
	if err := store.ValidateValue(sp.typ, v); err != nil {
		return o.errorf(line, "%w", err)
	}
	return o.sink.row(sp.id, *ts, v)
}

// resolve decodes a spelling not seen since the families last changed. A
// classification error is returned at once (it came first before too); a
// repeated label is left for sample to report after the per-line checks.
func (o *omReader) resolve(p textparse.Parser, line int64, raw []byte) (*omSpelling, error) {
	p.Labels(&o.lbls)
	name := o.lbls.Get(model.MetricNameLabel)
	typ, norm, skip, err := o.classify(name)
	if err != nil {
		return nil, o.errorf(line, "%w", err)
	}
	sp := &omSpelling{gen: o.gen, name: name, typ: typ, skip: skip}
	if skip {
		o.remember(raw, sp)
		return sp, nil
	}
	lm := make(map[string]string, o.lbls.Len())
	var dup string
	o.lbls.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if _, ok := lm[l.Name]; ok {
			dup = l.Name
		}
		val := l.Value
		if l.Name == norm {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				val = scrape.FormatBound(f)
			}
		}
		lm[l.Name] = val
	})
	if dup != "" {
		sp.dup = dup
		return sp, nil // not kept: the import ends at this line
	}
	sp.lm = lm
	sp.key = name + store.CanonicalLabels(lm) // scrape's tracker key
	sp.st = o.series[sp.key]
	if sp.st == nil {
		sp.st = &omSeries{}
		o.series[sp.key] = sp.st
	}
	o.remember(raw, sp)
	return sp, nil
}

func (o *omReader) remember(raw []byte, sp *omSpelling) {
	if len(o.spellings) >= maxOMSpellings {
		clear(o.spellings)
	}
	o.spellings[string(raw)] = sp
}
