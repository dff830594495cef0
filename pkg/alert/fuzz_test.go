package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are the committed fixtures plus hand-made hostile inputs; the
// corpora under testdata/fuzz add what fuzzing found.
func fuzzSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", " \n", "\xef\xbb\xbf", "[", "{", "[{}", `[{"a":1},`, `{"alerts":[{"a":1}`, `{"hits":{"hits":[{"_id":1,"_source":{}}]}}`,
		`[1,"x",null,{"a":"\ud800"}]`, "{\"a\":\"\xff\"}\n{}", `{"preview":true,"result":{"a":1}}`, "a,b\n1\n1,2,3\n\"x",
		`[{"a":1} {"b":2},,]`, "{\n\"a\":1\n}\njunk", `{"a":"{\"b\":\"[1]\"}"}`,
	} {
		f.Add([]byte(s))
	}
}

// checkLoad reads data as the given format and checks the reader's promises:
// no panic, every record is either an error or a valid UTF-8 JSON object that
// Walk accepts, indexes strictly increase, and reading ends.
func checkLoad(t *testing.T, dir string, data []byte, name string, format Format) {
	// One file per input in a directory made once per fuzz target: a
	// t.TempDir per input costs more than the parsing under test.
	f, err := os.CreateTemp(dir, "*-"+name)
	if err != nil {
		t.Fatal(err)
	}
	path := f.Name()
	defer os.Remove(path)
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, max := range []int{0, 64} {
		r, err := Open(path, name, Options{Format: format, MaxRecordBytes: max})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		last := 0
		for n := 0; ; n++ {
			if n > len(data)+2 {
				t.Fatalf("more records (%d) than input bytes (%d)", n, len(data))
			}
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("Next error is %T, want *FileError: %v", err, err)
				}
				if _, err := r.Next(); !errors.Is(err, io.EOF) {
					t.Fatalf("Next after FileError = %v, want io.EOF", err)
				}
				break
			}
			if rec.Index <= last {
				t.Fatalf("index %d after %d", rec.Index, last)
			}
			last = rec.Index
			if rec.Line < 1 {
				t.Fatalf("record %d: line %d", rec.Index, rec.Line)
			}
			if rec.Err != nil {
				if rec.Raw != nil || rec.Err.Record != rec.Index || rec.Err.Reason == "" {
					t.Fatalf("bad malformed record: %+v %+v", rec, rec.Err)
				}
				continue
			}
			switch {
			case !utf8.Valid(rec.Raw):
				t.Fatalf("record %d: invalid UTF-8: %q", rec.Index, rec.Raw)
			case !json.Valid(rec.Raw):
				t.Fatalf("record %d: invalid JSON: %q", rec.Index, rec.Raw)
			case rec.Raw[0] != '{':
				t.Fatalf("record %d: not an object: %q", rec.Index, rec.Raw)
			}
			if err := Walk(rec.Raw, func(p *Path, _ Kind, _ string) { _ = p.Normalized() }); err != nil {
				t.Fatalf("record %d: Walk: %v on %q", rec.Index, err, rec.Raw)
			}
			// Offset promises the file's own bytes: re-reading there must
			// give the record back.
			if off := rec.Offset; off >= 0 && (off+int64(len(rec.Raw)) > int64(len(data)) || !bytes.Equal(data[off:off+int64(len(rec.Raw))], rec.Raw)) {
				t.Fatalf("record %d: Offset %d does not hold %q", rec.Index, off, rec.Raw)
			}
			_ = ID(rec)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzLoadJSON(f *testing.F) {
	fuzzSeeds(f, "array.json", "bom-crlf.json", "wrapper-alerts.json", "wrapper-results.json",
		"wrapper-value.json", "es-hits.json", "single.json")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoad(t, dir, data, "fuzz.json", FormatJSON)
		checkLoad(t, dir, data, "fuzz", FormatAuto)
	})
}

func FuzzLoadNDJSON(f *testing.F) {
	fuzzSeeds(f, "alerts.ndjson", "splunk-export.json", "zeek-notice.otrf-apt29.ndjson")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoad(t, dir, data, "fuzz.ndjson", FormatNDJSON)
	})
}

// FuzzUnvalidatedNDJSON holds Options.Unvalidated to its promise: reading
// NDJSON unvalidated and walking each record strictly, as triage does,
// gives the records and the malformed-record reasons of the validating
// reader, in the same order.
func FuzzUnvalidatedNDJSON(f *testing.F) {
	fuzzSeeds(f, "alerts.ndjson", "splunk-export.json", "zeek-notice.otrf-apt29.ndjson")
	for _, s := range []string{"{\"a\":1,}\n{\"b\":[}\n{\"preview\":true,\"result\":{\"a\":}}\n[1,\n{\"c\":\"\\x\"}", "{} x\n{\"a\":\"\xff\"", "{\"a\":{\"b\":{}}}}"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.ndjson")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		read := func(unvalidated bool) []string {
			r, err := Open(path, "fuzz.ndjson", Options{Format: FormatNDJSON, Unvalidated: unvalidated})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var out []string
			for {
				rec, err := r.Next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						out = append(out, "file error: "+err.Error())
					}
					return out
				}
				reason := ""
				if rec.Err != nil {
					reason = rec.Err.Reason
				} else if unvalidated {
					if err := Walk(rec.Raw, func(*Path, Kind, string) {}); err != nil {
						reason = "invalid JSON: " + err.Error()
					}
				}
				if reason != "" {
					out = append(out, fmt.Sprintf("%d line %d: %s", rec.Index, rec.Line, reason))
				} else {
					out = append(out, fmt.Sprintf("%d line %d: %s", rec.Index, rec.Line, rec.Raw))
				}
			}
		}
		want, got := read(false), read(true)
		if !slices.Equal(want, got) {
			t.Fatalf("unvalidated reading differs:\n got %q\nwant %q", got, want)
		}
	})
}

func FuzzLoadCSV(f *testing.F) {
	fuzzSeeds(f, "alerts.csv", "alerts.tsv", "sentinel-asim-crowdstrike-alertevent.head.csv")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLoad(t, dir, data, "fuzz.csv", FormatCSV)
		checkLoad(t, dir, data, "fuzz.tsv", FormatCSV)
	})
}

func FuzzWalk(f *testing.F) {
	fuzzSeeds(f, "array.json", "es-hits.json", "alerts.ndjson")
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := Walk(data, func(p *Path, k Kind, v string) {
			n++
			if k > KindNull {
				t.Fatalf("kind %d", k)
			}
			if !utf8.ValidString(v) || !utf8.ValidString(p.String()) || !utf8.ValidString(p.Normalized()) {
				t.Fatalf("invalid UTF-8 reported: %q at %q", v, p.String())
			}
		})
		// Walk is exactly as strict as encoding/json, except for its lower
		// nesting limit.
		if valid := json.Valid(data); valid != (err == nil) && !(valid && depth(data) > maxDepth) {
			t.Fatalf("Walk error %v but json.Valid %v", err, valid)
		}
		if (validate(data) == nil) != (err == nil) {
			t.Fatalf("validate and Walk disagree: %v", err)
		}
	})
}

// depth returns an upper bound of the bracket nesting of data.
func depth(data []byte) int {
	d, m := 0, 0
	for _, c := range data {
		switch c {
		case '[', '{':
			d++
			m = max(m, d)
		case ']', '}':
			d--
		}
	}
	return m
}
