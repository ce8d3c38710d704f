package ingest

import (
	"strconv"
	"unsafe"
)

// jsonFields are the raw parts of one JSON Lines record in the common
// shape: the six known keys, each once, strings without escapes. Strings
// hold their content without quotes; labels hold the whole object.
type jsonFields struct {
	ts, name, typ, value, labels, service []byte
	tsString                              bool
	seen                                  uint8
}

const (
	fTS uint8 = 1 << iota
	fName
	fType
	fValue
	fLabels
	fService
	fRequired = fTS | fName | fType | fValue
)

// scanJSONRecord splits a record in the common shape without decoding it.
// It is deliberately narrow: anything else (escapes, unknown, repeated or
// missing keys, nulls, non-ASCII outside labels, numbers JSON would refuse)
// returns false and the record goes through encoding/json, which then
// decides and words any error. So the fast path can only ever accept what
// the full decoder accepts, with the same meaning.
func scanJSONRecord(b []byte, f *jsonFields) bool {
	*f = jsonFields{}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		k, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return false
		}
		var bit uint8
		switch string(k) {
		case "ts":
			bit = fTS
			if b[i] == '"' {
				f.ts, i, ok = plainString(b, i)
				f.tsString = true
			} else {
				f.ts, i, ok = jsonNumber(b, i)
			}
		case "name":
			bit = fName
			f.name, i, ok = plainString(b, i)
		case "type":
			bit = fType
			f.typ, i, ok = plainString(b, i)
		case "value":
			bit = fValue
			f.value, i, ok = jsonNumber(b, i)
		case "labels":
			bit = fLabels
			f.labels, i, ok = jsonObject(b, i)
		case "service":
			bit = fService
			f.service, i, ok = plainString(b, i)
		default:
			return false
		}
		if !ok || f.seen&bit != 0 {
			return false
		}
		f.seen |= bit
		i = skipWS(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b) && f.seen&fRequired == fRequired
		default:
			return false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// plainString reads the string starting at b[i] == '"' if it holds only
// printable ASCII and no escapes; it returns the content and the index
// after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, i, false
		}
	}
	return nil, i, false
}

// jsonNumber reads a number in JSON's grammar (strconv would also take
// "0x1p3", "+1", ".5" or "Inf", which JSON does not).
func jsonNumber(b []byte, i int) ([]byte, int, bool) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, start, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, start, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, start, false
		}
	}
	return b[start:i], i, true
}

// jsonObject finds the end of the object starting at b[i] == '{' without
// decoding it: its raw bytes identify a label set, and they are decoded
// (and checked) only the first time they are seen.
func jsonObject(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '{' {
		return nil, i, false
	}
	depth, inStr := 0, false
	for j := i; j < len(b); j++ {
		c := b[j]
		if inStr {
			switch c {
			case '\\':
				j++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return b[i : j+1], j + 1, true
			}
		}
	}
	return nil, i, false
}

// parseFloat parses b without copying it to a string.
func parseFloat(b []byte) (float64, error) {
	if len(b) == 0 {
		return strconv.ParseFloat("", 64)
	}
	return strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
}
