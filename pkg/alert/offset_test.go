package alert

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordOffset(t *testing.T) {
	t.Parallel()
	long := `{"k":"` + repeat("x", 100<<10) + `"}` // longer than the read buffer
	tests := []struct {
		name    string
		file    string
		content string
		want    []int64 // Offset of each record, in order
	}{
		{"happy path: NDJSON", "a.ndjson", "{\"a\":1}\n\n  {\"b\":2}  \r\n{\"c\":3}", []int64{0, 11, 22}},
		{"NDJSON with a BOM and a line longer than the buffer", "a.ndjson", "\xef\xbb\xbf{\"a\":1}\n" + long + "\n{}", []int64{3, 11, int64(11 + len(long) + 1)}},
		{"NDJSON: repaired UTF-8 is not the file's bytes", "a.ndjson", "{\"a\":\"\xff\"}\n{\"b\":1}", []int64{-1, 10}},
		{"NDJSON: a Splunk envelope gives its result", "a.ndjson", `{"preview":false,"result":{"a":1}}`, []int64{26}},
		{"NDJSON: malformed records have none", "a.ndjson", "[1]\n{\"a\":1}", []int64{-1, 4}},
		{"JSON array", "a.json", `[ {"a":1}, {"b":[2]} ]`, []int64{2, 11}},
		{"Elasticsearch hits give the _source", "a.json", `{"hits":{"hits":[{"_id":"x","_source":{"a":1}}]}}`, []int64{38}},
		{"a wrapper object", "a.json", `{"results": [{"a":1}]}`, []int64{13}},
		{"a single object", "a.json", ` {"a": {"b": 1}} `, []int64{1}},
		{"CSV rows are converted, never the file's bytes", "a.csv", "a,b\n1,2\n", []int64{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeTemp(t, tt.file, []byte(tt.content))
			recs, err := readAll(t, path, Options{})
			require.NoError(t, err)
			var got []int64
			for _, r := range recs {
				got = append(got, r.Offset)
				if r.Offset >= 0 {
					assert.Equal(t, tt.content[r.Offset:r.Offset+int64(len(r.Raw))], string(r.Raw), "bytes at the offset")
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}
