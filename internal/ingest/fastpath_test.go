package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// importBoth imports text as name once through the fast readers and once
// through the full decoders alone, each into a fresh store, and returns
// what each stored (or its error).
func importBoth(t *testing.T, name, text string) (fast, full []string, fastErr, fullErr string) {
	t.Helper()
	run := func(useFast bool) ([]string, string) {
		old := fastPath
		fastPath = useFast
		defer func() { fastPath = old }()
		s := newStore(t)
		_, err := Import(context.Background(), s, []Source{{Name: name, R: strings.NewReader(text)}})
		if err != nil {
			return dump(t, s), err.Error()
		}
		return dump(t, s), ""
	}
	fast, fastErr = run(true)
	full, fullErr = run(false)
	return
}

// The fast readers must accept exactly what the full decoders accept, store
// the same thing, and word every refusal the same way.
func TestFastPathMatchesFullDecoder(t *testing.T) {
	jsonl := []string{
		`{"ts":1795946400,"name":"m","type":"gauge","value":1.5,"labels":{"a":"x"}}`,
		`{"ts":1795946400.25,"name":"m","type":"gauge","value":-0,"labels":{"a":"x"},"service":"api"}`,
		`{ "labels" : { "b":"2", "a":"1" } , "value":3e2, "type":"counter","name":"c_total","ts":"2026-11-29T10:00:00.5Z" }`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"a":"1","b":"2"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"b":"2","a":"1"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"a":"é\u00e9\"}"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":null}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"service":"caf\u00e9"}`,
		`{"ts":1795946400,"name":"h","type":"histogram","value":0.000001}`,
		`{"ts":1795946400,"name":"big","type":"gauge","value":1.7976931348623157e308}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"z":"1"}}` + "\t ",
		`{"ts":946684800,"name":"m","type":"gauge","value":2,"labels":{"edge":"2000"}}`,
		`{"ts":"2100-01-01T00:00:00Z","name":"m","type":"gauge","value":2,"labels":{"edge":"2100"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"_x":"one underscore","u":"é"}}`,
	}
	bad := []string{
		`{"ts":1795946400,"name":"m","type":"gauge","value":"NaN"}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1e400}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":01}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":.5}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1.}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":+1}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1}x`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1} {}`,
		`{"ts":1795946400,"name":"m","type":"gauge"}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"extra":1}`,
		`{"ts":-5,"name":"m","type":"gauge","value":1}`,
		`{"ts":1e12,"name":"m","type":"gauge","value":1}`,
		`{"ts":"1960-01-01T00:00:00Z","name":"m","type":"gauge","value":1}`,
		`{"ts":"yesterday","name":"m","type":"gauge","value":1}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"a":1}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"1a":"x"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"a":{"b":"c"}}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"a":"x"}`,
		`{"ts":1795946400,"name":"m-x","type":"gauge","value":1}`,
		`{"ts":1795946400,"name":"","type":"gauge","value":1}`,
		`{"ts":1795946400,"name":"m","type":"summary","value":1}`,
		`{"ts":1795946400,"name":"m","type":"counter","value":1}`, // m is a gauge above
		`{"ts":1795946400,"name":"c_total","type":"counter","value":-1}`,
		// encoding/json alone would take these: repeated keys (the last
		// wins), field names in another case, invalid UTF-8 (as U+FFFD).
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"a":"dup","a":"last"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"a":"dup","\u0061":"last"}}`,
		`{"ts":1795946400,"Name":"m","type":"gauge","value":2}`,
		`{"ts":1795946400,"name":"m","type":"gauge","VALUE":2}`,
		`{"ts":1795946400,"name":"m","name":"n","type":"gauge","value":2}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"value":3}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"host":"a` + "\xff" + `b"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"labels":{"ho` + "\xc3" + `st":"a"}}`,
		`{"ts":1795946400,"name":"m` + "\xff" + `","type":"gauge","value":2}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2,"service":"` + "\xe2\x82" + `"}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":2}` + "\xff",
		// Times outside 2000..2100, and reserved label names.
		`{"ts":0,"name":"m","type":"gauge","value":1}`,
		`{"ts":99999999999,"name":"m","type":"gauge","value":1}`,
		`{"ts":1795946400000,"name":"m","type":"gauge","value":1}`,
		`{"ts":"9999-01-01T00:00:00Z","name":"m","type":"gauge","value":1}`,
		`{"ts":"1999-12-31T23:59:59.999Z","name":"m","type":"gauge","value":1}`,
		`{"ts":4102444800.001,"name":"m","type":"gauge","value":1}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"__name__":"x"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"__x":"y"}}`,
	}
	ok := strings.Join(jsonl, "\n") + "\n"
	fast, full, fe, se := importBoth(t, "a.jsonl", ok)
	if fe != "" || se != "" {
		t.Fatalf("valid input refused: fast %q, full %q", fe, se)
	}
	if len(fast) != len(jsonl) || !slices.Equal(fast, full) {
		t.Fatalf("stored differently:\nfast %q\nfull %q", fast, full)
	}
	for _, b := range bad {
		// Each bad record comes after good ones whose series it may clash
		// with, so the refusal happens mid-stream on both paths.
		fast, full, fe, se := importBoth(t, "a.jsonl", ok+b+"\n")
		if fe == "" || fe != se {
			t.Errorf("%s\n fast error %q\n full error %q", b, fe, se)
		}
		if len(fast) != 0 || len(full) != 0 {
			t.Errorf("%s: a refused import stored rows", b)
		}
		if at := fmt.Sprintf("a.jsonl:%d: ", len(jsonl)+1); !strings.HasPrefix(fe, at) {
			t.Errorf("%s: error %q does not start with %q", b, fe, at)
		}
	}
}

func TestFastCSVMatchesFullDecoder(t *testing.T) {
	head := "ts,name,type,value,labels,service\n"
	good := []string{
		`1795946400,m,gauge,1.5,"{""a"":""x""}",api`,
		` 2026-11-29T10:00:00Z ,m, gauge , 2 ,"{""a"":""x""}",api`,
		`1795946400,m,gauge,3,"{""b"":""2"",""a"":""1""}",`,
		`1795946400,m,gauge,3,"{""a"":""1"",""b"":""2""}",`,
		`1795946400,m,gauge,0x1p3,,`,
		`1795946400,m,gauge,4," ",`,
		`1795946400,c_total,counter,1,,`,
		`1795946400,m,gauge,1e-400,,`, // underflow is 0 to strconv, not an error
		`1795946400,m,gauge,5,"{""u"":""é""}",ünï`,
	}
	bad := []string{
		`1795946400,m,gauge,NaN,,`,
		`1795946400,m,gauge,Inf,,`,
		`1795946400,m,gauge,1e400,,`,
		`1795946400,m,gauge,,,`,
		`,m,gauge,1,,`,
		`1795946400,m,counter,1,,`,
		`1795946400,m,gauge,1,"{""a"":1}",`,
		`1795946400,m,gauge,1,{,`,
		`1795946400,m x,gauge,1,,`,
		`1795946400,c_total,counter,-2,,`,
		`1795946400,m,gauge,1,"{""a"":""x"",""a"":""y""}",`,
		`1795946400,m,gauge,1,"{""a"":""x` + "\xff" + `""}",`,
		`1795946400,m,gauge,1,,` + "\xff",
		`1795946400,m` + "\xff" + `,gauge,1,,`,
		`0,m,gauge,1,,`,
		`1795946400000,m,gauge,1,,`,
		`9999-01-01T00:00:00Z,m,gauge,1,,`,
		`1795946400,m,gauge,1,"{""__name__"":""x""}",`,
	}
	ok := head + strings.Join(good, "\n") + "\n"
	fast, full, fe, se := importBoth(t, "a.csv", ok)
	if fe != "" || se != "" {
		t.Fatalf("valid input refused: fast %q, full %q", fe, se)
	}
	if len(fast) != len(good) || !slices.Equal(fast, full) {
		t.Fatalf("stored differently:\nfast %q\nfull %q", fast, full)
	}
	for _, b := range bad {
		_, _, fe, se := importBoth(t, "a.csv", ok+b+"\n")
		if at := fmt.Sprintf("a.csv:%d: ", len(good)+2); fe == "" || fe != se || !strings.HasPrefix(fe, at) {
			t.Errorf("%s\n fast error %q\n full error %q", b, fe, se)
		}
	}
}

// FuzzJSONLFastPath: whatever the line, both paths agree on what is stored
// and on the error. `go test -fuzz FuzzJSONLFastPath ./internal/ingest/`
// explores; plain `go test` runs the seeds.
func FuzzJSONLFastPath(f *testing.F) {
	for _, s := range []string{
		`{"ts":1795946400,"name":"m","type":"gauge","value":1.5,"labels":{"a":"x"}}`,
		`{"ts":"2026-11-29T10:00:00Z","name":"m","type":"counter","value":0,"service":"s"}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":-1e-7,"labels":{"a":"\"}"}}`,
		`{"value":2,"type":"histogram","name":"h","ts":1795946400}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"a":"x","a":"y"}}`,
		`{"ts":1795946400,"name":"m","type":"gauge","value":1,"labels":{"a":"` + "\xff" + `"}}`,
		`{"ts":1795946400000,"Name":"m","type":"gauge","value":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		fast, full, fe, se := importBoth(t, "f.jsonl", line+"\n")
		if fe != se || !slices.Equal(fast, full) {
			t.Fatalf("%q:\n fast %q %q\n full %q %q", line, fast, fe, full, se)
		}
	})
}
