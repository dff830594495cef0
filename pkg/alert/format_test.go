package alert

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Format
		wantErr string
	}{
		{name: "empty means auto", in: "", want: FormatAuto},
		{name: "auto", in: "auto", want: FormatAuto},
		{name: "json", in: "json", want: FormatJSON},
		{name: "ndjson", in: "ndjson", want: FormatNDJSON},
		{name: "jsonl is ndjson", in: "jsonl", want: FormatNDJSON},
		{name: "csv in capitals", in: " CSV ", want: FormatCSV},
		{name: "sad path: unknown format lists allowed values", in: "xml",
			wantErr: `unknown input format "xml" (allowed: auto, json, ndjson, jsonl, csv)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFormat(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "auto", FormatAuto.String())
	assert.Equal(t, "ndjson", FormatNDJSON.String())
}

func TestSniff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		content string
		want    Format
		wantErr error
	}{
		{name: "csv by extension whatever the content", file: "a.csv", content: "[1]", want: FormatCSV},
		{name: "tsv by extension", file: "a.TSV", content: "x", want: FormatCSV},
		{name: "ndjson by extension", file: "a.ndjson", content: "[]", want: FormatNDJSON},
		{name: "jsonl by extension", file: "a.jsonl", content: "", want: FormatNDJSON},
		{name: "ldjson by extension", file: "a.ldjson", content: "", want: FormatNDJSON},
		{name: "array is json", file: "a.json", content: "\n  [ {} ]", want: FormatJSON},
		{name: "one-line object alone is a json document", file: "a.json", content: `{"a":1}` + "\n\n", want: FormatJSON},
		{name: "one object per line is ndjson", file: "a.json", content: "{\"a\":1}\n{\"a\":2}\n", want: FormatNDJSON},
		{name: "braces inside strings do not end the value", file: "a.log", content: "{\"a\":\"}\"}\n{}", want: FormatNDJSON},
		{name: "pretty-printed object is a json document", file: "a.json", content: "{\n \"a\": 1\n}\n{\n}", want: FormatJSON},
		{name: "bom then array", file: "a.json", content: "\xef\xbb\xbf[]", want: FormatJSON},
		{name: "comma header is csv", file: "export", content: "id,src_ip\n1,2\n", want: FormatCSV},
		{name: "tab header is csv", file: "export.txt", content: "id\tsrc_ip\n", want: FormatCSV},
		{name: "sad path: empty file", file: "a.json", content: "", wantErr: ErrEmpty},
		{name: "sad path: whitespace only", file: "a.json", content: " \r\n\t\n", wantErr: ErrEmpty},
		{name: "sad path: bom only", file: "a.json", content: "\xef\xbb\xbf", wantErr: ErrEmpty},
		{name: "sad path: plain text", file: "notes.txt", content: "hello world\nbye", wantErr: ErrFormat},
		{name: "sad path: binary with a comma", file: "a.bin", content: "\x00\x01,\x02", wantErr: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeTemp(t, tt.file, []byte(tt.content))
			got, err := Sniff(path)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var fe *FileError
				require.ErrorAs(t, err, &fe)
				assert.Contains(t, err.Error(), tt.file, "the error names the file")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSniffFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want Format
	}{
		{"array.json", FormatJSON},
		{"bom-crlf.json", FormatJSON},
		{"wrapper-results.json", FormatJSON},
		{"es-hits.json", FormatJSON},
		{"single.json", FormatJSON},
		{"splunk-export.json", FormatNDJSON},
		// NDJSON although it ends in .json.
		{"m365defender-events.otrf-goldensaml.json", FormatNDJSON},
		{"alerts.tsv", FormatCSV},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := Sniff(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
