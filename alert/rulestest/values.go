package rulestest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Point is one step of an input series: a value, or no sample at all.
type Point struct {
	Value float64
	// Missing is a step without a sample: `_`, `_xN` or `stale`.
	Missing bool
	// Stale is a `stale` marker. vigil has no staleness markers: it
	// writes no sample there, like `_`, and the flag only says which one
	// was written.
	Stale bool
}

// MaxPoints bounds the samples one values string expands to, so a typo
// such as 1x1000000000 is an error rather than an exhausted machine.
const MaxPoints = 1_000_000

// ParseValues expands promtool's series value notation, a list of tokens
// separated by spaces:
//
//	1.5        one sample (decimals, exponents and a sign allowed: -2, 1e3)
//	_          one step without a sample
//	_xN        N steps without a sample
//	stale      one step without a sample (vigil has no staleness markers)
//	aXn        a repeated: n+1 samples (1x3 is 1 1 1 1), as a+0xn
//	a+bxn      n+1 samples from a, stepping by b: -2+4x3 is -2 2 6 10
//	a-bxn      the same stepping down: 1-2x4 is 1 -1 -3 -5 -7
//
// Values must be finite numbers (the store refuses NaN and infinities).
func ParseValues(s string) ([]Point, error) {
	var out []Point
	for _, tok := range strings.Fields(s) {
		ps, err := parseToken(tok)
		if err != nil {
			return nil, err
		}
		if len(out)+len(ps) > MaxPoints {
			return nil, fmt.Errorf("values expand to more than %d samples", MaxPoints)
		}
		out = append(out, ps...)
	}
	return out, nil
}

func parseToken(tok string) ([]Point, error) {
	switch {
	case tok == "_":
		return []Point{{Missing: true}}, nil
	case tok == "stale":
		return []Point{{Missing: true, Stale: true}}, nil
	case strings.HasPrefix(tok, "_x"):
		n, err := count(tok, tok[2:])
		if err != nil {
			return nil, err
		}
		out := make([]Point, n)
		for i := range out {
			out[i].Missing = true
		}
		return out, nil
	}
	xi := strings.LastIndexAny(tok, "xX")
	if xi < 0 {
		v, err := number(tok, tok)
		if err != nil {
			return nil, err
		}
		return []Point{{Value: v}}, nil
	}
	n, err := count(tok, tok[xi+1:])
	if err != nil {
		return nil, err
	}
	start, step, err := startStep(tok, tok[:xi])
	if err != nil {
		return nil, err
	}
	out := make([]Point, n+1)
	for i := range out {
		// Computed, not accumulated, so 0.1+0.1x30 drifts no more at its
		// end than at its start.
		v := start + float64(i)*step
		if math.IsInf(v, 0) {
			return nil, fmt.Errorf("value %q: overflows", tok)
		}
		out[i].Value = v
	}
	return out, nil
}

// startStep splits "a", "a+b" or "a-b" (a and b signed numbers, perhaps
// with exponents such as 1e-3) into a and the signed step.
func startStep(tok, s string) (float64, float64, error) {
	op := -1
	for i := 1; i < len(s); i++ {
		if (s[i] == '+' || s[i] == '-') && s[i-1] != 'e' && s[i-1] != 'E' {
			op = i
			break
		}
	}
	if op < 0 {
		a, err := number(tok, s)
		return a, 0, err
	}
	a, err := number(tok, s[:op])
	if err != nil {
		return 0, 0, err
	}
	b, err := number(tok, s[op+1:])
	if err != nil {
		return 0, 0, err
	}
	if s[op] == '-' {
		b = -b
	}
	return a, b, nil
}

func number(tok, s string) (float64, error) {
	// ParseFloat also reads hex floats, Inf, NaN and underscores: none of
	// them is part of the notation.
	if s == "" || strings.ContainsAny(s, "xXpP_") {
		return 0, fmt.Errorf("value %q: want a number, _, _xN, stale, aXn or a+bXn", tok)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		if err == nil {
			return 0, fmt.Errorf("value %q: %s is not a finite number", tok, s)
		}
		return 0, fmt.Errorf("value %q: want a number, _, _xN, stale, aXn or a+bXn", tok)
	}
	return v, nil
}

func count(tok, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("value %q: the count after x must be a whole number, got %q", tok, s)
	}
	if n >= MaxPoints {
		return 0, fmt.Errorf("value %q: more than %d samples", tok, MaxPoints)
	}
	return n, nil
}
