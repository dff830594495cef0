package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/internal/testutil"
)

func TestReadFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		file      string
		format    Format
		wantIDs   []string
		wantLines []int
		wantHits  []string
		// path → value that Walk must find in the first record
		wantValue map[string]string
	}{
		{
			name: "happy path: json array", file: "array.json", format: FormatJSON,
			wantIDs: []string{"ALT-1", "ALT-2", "ALT-3"}, wantLines: []int{2, 12, 19},
			wantValue: map[string]string{"destination.ip": "185.220.101.45", "url.full": "http://malicious.example/payload.exe"},
		},
		{
			name: "happy path: bom and crlf", file: "bom-crlf.json", format: FormatJSON,
			wantIDs: []string{"CR-1", "CR-2"}, wantLines: []int{2, 3},
			wantValue: map[string]string{"src_ip": "198.51.100.4"},
		},
		{
			name: "happy path: alerts wrapper, key matched case-insensitively", file: "wrapper-alerts.json", format: FormatJSON,
			wantIDs: []string{"W-1", "W-2"}, wantLines: []int{4, 5},
			wantValue: map[string]string{"src": "198.51.100.1"},
		},
		{
			name: "happy path: splunk results wrapper", file: "wrapper-results.json", format: FormatJSON,
			wantIDs: []string{"", ""}, wantLines: []int{1, 1},
			wantValue: map[string]string{"src_ip": "203.0.113.9", "dest": "evil.example"},
		},
		{
			name: "happy path: graph value wrapper", file: "wrapper-value.json", format: FormatJSON,
			wantIDs: []string{"da637", "da638"}, wantLines: []int{4, 5},
			wantValue: map[string]string{"evidence.ipAddress": "203.0.113.77"},
		},
		{
			name: "happy path: elasticsearch hits with _id", file: "es-hits.json", format: FormatJSON,
			wantIDs: []string{"hit-1", "evt-2", "src-id-3"}, wantLines: []int{9, 11, 13},
			wantHits:  []string{"hit-1", "hit-2", "3"},
			wantValue: map[string]string{"source.ip": "185.220.101.45", "kibana.alert.rule.name": "Tor exit"},
		},
		{
			name: "happy path: a lone object is one alert even with wrapper-like keys", file: "single.json", format: FormatJSON,
			wantIDs: []string{"S-1"}, wantLines: []int{1},
			wantValue: map[string]string{"value": "42", "results": "n/a", "hits.total": "0"},
		},
		{
			name: "happy path: ndjson with blank lines and crlf", file: "alerts.ndjson", format: FormatNDJSON,
			wantIDs: []string{"N-1", "N-2", "N-3"}, wantLines: []int{1, 3, 5},
			wantValue: map[string]string{"src_ip": "198.51.100.7"},
		},
		{
			name: "happy path: splunk export lines unwrap to result", file: "splunk-export.json", format: FormatNDJSON,
			wantIDs: []string{"SPL-1", "SPL-2"}, wantLines: []int{1, 2},
			wantValue: map[string]string{"src_ip": "203.0.113.21"},
		},
		{
			name: "happy path: csv with bom, crlf, json cell, blank and duplicate headers", file: "alerts.csv", format: FormatCSV,
			wantIDs: []string{"A-1", "A-2", "A-3"}, wantLines: []int{2, 3, 5},
			wantValue: map[string]string{
				"details.url": "http://evil.example/p", "details.dst.ip": "198.51.100.9",
				"column_4": "x", "severity": "high", "severity_2": "3",
			},
		},
		{
			name: "happy path: tsv", file: "alerts.tsv", format: FormatCSV,
			wantIDs: []string{"T-1", "T-2"}, wantLines: []int{2, 3},
			wantValue: map[string]string{"src_ip": "198.51.100.20", "message": "beacon to evil.example"},
		},
		{
			name: "happy path: zeek notice (otrf, MIT)", file: "zeek-notice.otrf-apt29.ndjson", format: FormatNDJSON,
			wantIDs: []string{"", "", ""}, wantLines: []int{1, 2, 3},
			wantValue: map[string]string{"id_orig_h": "10.0.1.6", "@system": "bobs.bigwheel.local"},
		},
		{
			name: "happy path: m365 defender ndjson named .json (otrf, MIT)", file: "m365defender-events.otrf-goldensaml.json", format: FormatNDJSON,
			wantIDs: make([]string, 9), wantLines: []int{1, 2, 3, 4, 5, 6, 7, 8, 9},
			wantValue: map[string]string{"InitiatingProcessMD5": "7353f60b1739074eb17c5f4dddefe239"},
		},
		{
			name: "happy path: sentinel csv with json cells (Azure-Sentinel, MIT)", file: "sentinel-asim-crowdstrike-alertevent.head.csv", format: FormatCSV,
			wantIDs:   []string{"ind:430277e91d0e4b79a254d543df474365:10256761721621-41004-56404240"},
			wantLines: []int{2},
			wantValue: map[string]string{"Device.external_ip": "10.171.6.227", "ParentDetails.md5": "1800ecd9cce506c84975e79934cdf32f"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tt.file)
			r, err := Open(path, tt.file, Options{})
			require.NoError(t, err)
			assert.Equal(t, tt.format, r.Format())
			require.NoError(t, r.Close())

			recs, err := readAll(t, path, Options{})
			require.NoError(t, err)
			require.Len(t, recs, len(tt.wantIDs))
			var lines []int
			var hits []string
			for i, rec := range recs {
				require.Nil(t, rec.Err, "record %d", i+1)
				assert.Equal(t, tt.file, rec.File)
				assert.Equal(t, i+1, rec.Index)
				assert.True(t, json.Valid(rec.Raw), "record %d is valid JSON", i+1)
				lines = append(lines, rec.Line)
				hits = append(hits, rec.HitID)
			}
			assert.Equal(t, tt.wantIDs, ids(recs))
			assert.Equal(t, tt.wantLines, lines)
			if tt.wantHits != nil {
				assert.Equal(t, tt.wantHits, hits)
			}
			for path, want := range tt.wantValue {
				assert.Contains(t, valuesAt(t, recs[0].Raw, path), want, "path %s", path)
			}
		})
	}
}

func TestReadKeepsOriginalBytes(t *testing.T) {
	t.Parallel()
	recs, err := readAll(t, filepath.Join("testdata", "bom-crlf.json"), Options{})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, "{\"id\": \"CR-2\",\r\n   \"src_ip\": \"198.51.100.5\"}", string(recs[1].Raw))

	recs, err = readAll(t, filepath.Join("testdata", "alerts.csv"), Options{})
	require.NoError(t, err)
	assert.Equal(t, `{"alert_id":"A-2","severity":"low","source_ip":"10.0.0.5","column_4":"y","details":"multi\nline note","severity_2":"1"}`,
		string(recs[1].Raw), "csv rows become objects in header order; TrimLeadingSpace applies")
	assert.Equal(t, "192.0.2.1", valuesAt(t, recs[2].Raw, "source_ip")[0])
}

func TestReadCSVCells(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		content string
		want    []string
	}{
		{name: "happy path: tsv keeps empty cells", file: "a.tsv", content: "id\tsrc\tmsg\nT-1\t\thello\n",
			want: []string{`{"id":"T-1","src":"","msg":"hello"}`}},
		{name: "happy path: csv trims leading spaces before quotes", file: "a.csv", content: "id, msg\n1, \"a, b\"\n",
			want: []string{`{"id":"1","msg":"a, b"}`}},
		{name: "happy path: control characters and quotes are escaped", file: "a.csv", content: "k\n\"a\"\"b\x01\\\"\n",
			want: []string{`{"k":"a\"b\u0001\\"}`}},
		{name: "happy path: header only holds no records", file: "a.csv", content: "id,src\n"},
		{name: "happy path: duplicate names get a suffix that is not taken", file: "a.csv", content: "a,a,a_2,\n1,2,3,4\n",
			want: []string{`{"a":"1","a_2":"2","a_2_2":"3","column_4":"4"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, err := readAll(t, writeTemp(t, tt.file, []byte(tt.content)), Options{})
			require.NoError(t, err)
			var got []string
			for _, rec := range recs {
				require.Nil(t, rec.Err)
				got = append(got, string(rec.Raw))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadSharedSamples(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedSamples(t, "alerts")
	tests := []struct {
		file      string
		format    Format
		count     int
		wantErrs  []string // RecordError messages, in order
		wantIDs   map[int]string
		wantValue map[string]string // in the first record
	}{
		{file: "m365defender-events.otrf-goldensaml.json", format: FormatNDJSON, count: 9,
			wantValue: map[string]string{"DeviceName": "adfs01.simulandlabs.com"}},
		{file: "sentinel-asim-crowdstrike-alertevent.head.csv", format: FormatCSV, count: 1,
			wantIDs:   map[int]string{1: "ind:430277e91d0e4b79a254d543df474365:10256761721621-41004-56404240"},
			wantValue: map[string]string{"Device.external_ip": "10.171.6.227", "Sha1": "0000000000000000000000000000000000000000"}},
		{file: "suricata-eve-alerts.elastic-beats.head.ndjson", format: FormatNDJSON, count: 10,
			wantIDs:   map[int]string{1: ""},
			wantValue: map[string]string{"dest_ip": "93.184.216.34", "http.http_user_agent": "curl/7.58.0", "alert.signature_id": "2013028"}},
		{file: "wazuh-alerts.wazuh-qa.ndjson", format: FormatNDJSON, count: 2,
			wantErrs:  []string{"wazuh-alerts.wazuh-qa.ndjson: record 2 (line 2): invalid JSON: invalid character ':' looking for beginning of object key string at offset 44"},
			wantIDs:   map[int]string{1: "1652272159.1549653"},
			wantValue: map[string]string{"data.srcip": "172.17.1.1", "rule.id": "5712"}},
		{file: "zeek-notice.otrf-apt29.ndjson", format: FormatNDJSON, count: 3,
			wantValue: map[string]string{"id_orig_h": "10.0.1.6"}},
		{file: "zeek-notice.wrccdc2018.ndjson", format: FormatNDJSON, count: 207,
			wantValue: map[string]string{"id.orig_h": "10.164.94.120", "id.resp_h": "10.47.3.200"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, tt.file)
			got, err := Sniff(path)
			require.NoError(t, err)
			assert.Equal(t, tt.format, got)

			recs, err := readAll(t, path, Options{})
			require.NoError(t, err)
			require.Len(t, recs, tt.count)
			var errs []string
			for _, rec := range recs {
				if rec.Err != nil {
					errs = append(errs, rec.Err.Error())
				}
			}
			assert.Equal(t, tt.wantErrs, errs)
			for idx, want := range tt.wantIDs {
				assert.Equal(t, want, ID(recs[idx-1]), "id of record %d", idx)
			}
			for p, want := range tt.wantValue {
				assert.Contains(t, valuesAt(t, recs[0].Raw, p), want, "path %s", p)
			}
		})
	}

	t.Run("zeek dotted keys are single keys", func(t *testing.T) {
		t.Parallel()
		recs, err := readAll(t, filepath.Join(dir, "zeek-notice.wrccdc2018.ndjson"), Options{})
		require.NoError(t, err)
		var found bool
		require.NoError(t, Walk(recs[0].Raw, func(p *Path, _ Kind, v string) {
			if p.String() == "id.orig_h" {
				found = true
				assert.Equal(t, []string{"id.orig_h"}, p.Keys())
				assert.Equal(t, "id.orig.h", p.Normalized())
				assert.Equal(t, "10.164.94.120", v)
			}
		}))
		assert.True(t, found)
	})
}

// want describes one expected record: a good one by id, or a malformed one
// by the full RecordError message.
type want struct {
	index int
	line  int
	id    string
	err   string
}

func TestReadBadInput(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	tests := []struct {
		name    string
		file    string
		content string
		opts    Options
		want    []want
		wantErr string // *FileError message
	}{
		{
			name: "sad path: truncated json array", file: "alerts.json",
			content: "[{\"id\":\"a\"},\n {\"id\":\"b\",\"x\":",
			want:    []want{{1, 1, "a", ""}, {2, 2, "", "alerts.json: record 2 (line 2): invalid JSON: unexpected end of file (truncated record)"}},
		},
		{
			name: "sad path: truncated pretty object", file: "alert.json",
			content: "{\n  \"id\": \"a\",\n  \"tags\": [1,",
			want:    []want{{1, 1, "", "alert.json: record 1 (line 1): invalid JSON: unexpected end of file (truncated record)"}},
		},
		{
			name: "sad path: truncated last ndjson line", file: "a.ndjson",
			content: "{\"id\":\"a\"}\n{\"id\":",
			want:    []want{{1, 1, "a", ""}, {2, 2, "", "a.ndjson: record 2 (line 2): invalid JSON: unexpected end of JSON input"}},
		},
		{
			name: "sad path: array truncated between elements", file: "a.json",
			content: "[{\"id\":\"a\"},\n",
			want:    []want{{1, 1, "a", ""}, {2, 2, "", "a.json: record 2 (line 2): invalid JSON: unexpected end of file (truncated document)"}},
		},
		{
			name: "sad path: wrapper truncated after its alerts", file: "a.json",
			content: "{\"alerts\":[{\"id\":\"a\"}]",
			want:    []want{{1, 1, "a", ""}, {2, 1, "", "a.json: record 2 (line 1): invalid JSON: unexpected end of file (truncated document)"}},
		},
		{
			name: "sad path: ragged csv row, reading goes on", file: "a.csv",
			content: "id,src,dst\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n",
			want: []want{{1, 2, "1", ""},
				{2, 3, "", "a.csv: record 2 (line 3): row has 2 fields, header has 3"},
				{3, 4, "", "a.csv: record 3 (line 4): row has 4 fields, header has 3"},
				{4, 5, "10", ""}},
		},
		{
			name: "sad path: csv bare quote, reading goes on", file: "a.csv",
			content: "id,msg\n1,say \"hi\"\n2,ok\n",
			want: []want{{1, 2, "", `a.csv: record 1 (line 2): invalid CSV: line 2, column 7: bare " in non-quoted-field`},
				{2, 3, "2", ""}},
		},
		{
			name: "sad path: csv quote never closed", file: "a.csv",
			content: "id,msg\n1,\"open\n2,x\n",
			want:    []want{{1, 2, "", `a.csv: record 1 (line 2): invalid CSV: line 3, column 5: extraneous or missing " in quoted-field`}},
		},
		{
			name: "happy path: invalid utf-8 is replaced, not an error", file: "a.ndjson",
			content: "{\"id\":\"u\xff\xfe\",\"m\":\"ok\"}\n",
			want:    []want{{1, 1, "u\uFFFD\uFFFD", ""}},
		},
		{
			name: "happy path: invalid utf-8 in a json array element", file: "a.json",
			content: "[{\"id\":\"\xc3\x28\"}]",
			want:    []want{{1, 1, "\uFFFD(", ""}},
		},
		{
			name: "happy path: invalid utf-8 in a csv cell", file: "a.csv",
			content: "id\n\xe2\x82\n",
			want:    []want{{1, 2, "\uFFFD\uFFFD", ""}},
		},
		{name: "sad path: empty file", file: "empty.json", content: "", wantErr: "empty.json: file is empty"},
		{name: "sad path: whitespace-only file", file: "blank.ndjson", content: " \n\r\n\t ", wantErr: "blank.ndjson: file is empty"},
		{name: "sad path: whitespace-only csv", file: "blank.csv", content: "\n\n", wantErr: "blank.csv: file is empty"},
		{name: "sad path: garbage bytes", file: "junk.bin", content: "\x00\x01\x02\x7fELF\xff\xfe",
			wantErr: "junk.bin: " + ErrFormat.Error()},
		{
			name: "sad path: garbage forced to json", file: "junk.bin", content: "\x00\x01garbage", opts: Options{Format: FormatJSON},
			want: []want{{1, 1, "", "junk.bin: record 1 (line 1): invalid JSON: invalid character '\\x00' looking for beginning of value at offset 0"}},
		},
		{
			name: "sad path: deep nesting in ndjson, next line still read", file: "a.ndjson",
			content: "{\"a\":" + deep + "}\n{\"id\":\"ok\"}\n",
			want: []want{{1, 1, "", "a.ndjson: record 1 (line 1): invalid JSON: exceeded max nesting depth of 512 at offset 516"},
				{2, 2, "ok", ""}},
		},
		{
			name: "sad path: deep nesting in a json array, next element still read", file: "a.json",
			content: "[" + deep + ",\n{\"id\":\"ok\"}]",
			want: []want{{1, 1, "", "a.json: record 1 (line 1): invalid JSON: exceeded max nesting depth of 512 at offset 512"},
				{2, 2, "ok", ""}},
		},
		{
			name: "sad path: non-object array elements", file: "a.json",
			content: `[1, "x", null, true, {"id":"ok"}, [2]]`,
			want: []want{
				{1, 1, "", "a.json: record 1 (line 1): not a JSON object (number)"},
				{2, 1, "", "a.json: record 2 (line 1): not a JSON object (string)"},
				{3, 1, "", "a.json: record 3 (line 1): not a JSON object (null)"},
				{4, 1, "", "a.json: record 4 (line 1): not a JSON object (boolean)"},
				{5, 1, "ok", ""},
				{6, 1, "", "a.json: record 6 (line 1): not a JSON object (array)"},
			},
		},
		{
			name: "sad path: non-object ndjson lines", file: "a.jsonl",
			content: "42\n\"s\"\n[1]\n{\"id\":\"ok\"}\n",
			want: []want{
				{1, 1, "", "a.jsonl: record 1 (line 1): not a JSON object (number)"},
				{2, 2, "", "a.jsonl: record 2 (line 2): not a JSON object (string)"},
				{3, 3, "", "a.jsonl: record 3 (line 3): not a JSON object (array)"},
				{4, 4, "ok", ""},
			},
		},
		{
			name: "sad path: json document followed by junk", file: "a.json",
			content: "{\n  \"id\": \"a\"\n}\njunk here",
			want: []want{{1, 1, "a", ""},
				{2, 4, "", "a.json: record 2 (line 4): invalid JSON: unexpected data after top-level value"}},
		},
		{
			name: "sad path: json array followed by junk", file: "a.json",
			content: "[{\"id\":\"a\"}]\n\n%%%",
			want: []want{{1, 1, "a", ""},
				{2, 3, "", "a.json: record 2 (line 3): invalid JSON: unexpected data after top-level value"}},
		},
		{
			name: "happy path: concatenated pretty objects are one alert each", file: "a.json",
			content: "{\n \"id\": \"a\"\n}\n{\n \"id\": \"b\"\n}\n",
			want:    []want{{1, 1, "a", ""}, {2, 4, "b", ""}},
		},
		{
			name: "sad path: ndjson line with trailing junk", file: "a.ndjson",
			content: "{\"id\":\"a\"} x\n{\"id\":\"b\"}",
			want: []want{{1, 1, "", "a.ndjson: record 1 (line 1): invalid JSON: invalid character 'x' after top-level value at offset 11"},
				{2, 2, "b", ""}},
		},
		{
			name: "sad path: raw control character in a string", file: "a.ndjson",
			content: "{\"id\":\"a\tb\"}\n",
			want:    []want{{1, 1, "", `a.ndjson: record 1 (line 1): invalid JSON: invalid character '\t' in string literal at offset 8`}},
		},
		{
			name: "sad path: raw NUL in a string", file: "a.ndjson",
			content: "{\"id\":\"a\x00b\"}\n",
			want:    []want{{1, 1, "", `a.ndjson: record 1 (line 1): invalid JSON: invalid character '\x00' in string literal at offset 8`}},
		},
		{
			name: "happy path: escaped NUL is fine", file: "a.ndjson",
			content: "{\"id\":\"a\\u0000b\"}\n",
			want:    []want{{1, 1, "a\x00b", ""}},
		},
		{
			name: "sad path: wazuh-style broken line", file: "wazuh.ndjson",
			content: "{\"id\":\"1\"}\n{\"timestamp\":\"2022-05-11T12:29:19.905+0000\",:{\"level\":10}}\n",
			want: []want{{1, 1, "1", ""},
				{2, 2, "", "wazuh.ndjson: record 2 (line 2): invalid JSON: invalid character ':' looking for beginning of object key string at offset 44"}},
		},
		{
			name: "sad path: missing comma between elements", file: "a.json",
			content: "[{\"id\":\"a\"}\n {\"id\":\"b\"}]",
			want: []want{{1, 1, "a", ""},
				{2, 2, "", "a.json: record 2 (line 2): invalid JSON: invalid character '{' after array element"},
				{3, 2, "b", ""}},
		},
		{
			name: "sad path: broken string recovers at the next element", file: "a.json",
			content: "[\n{\"id\":\"a\",\"m\":\"broken\n},\n{\"id\":\"b\"}\n]",
			want: []want{{1, 2, "", `a.json: record 1 (line 2): invalid JSON: invalid character '\n' in string literal at offset 21`},
				{2, 4, "b", ""}},
		},
		{
			name: "sad path: stray commas in an array", file: "a.json",
			content: "[{\"id\":\"a\"},,{\"id\":\"b\"},]",
			want: []want{{1, 1, "a", ""},
				{2, 1, "", "a.json: record 2 (line 1): invalid JSON: invalid character ',' looking for beginning of value"},
				{3, 1, "b", ""}},
		},
		{
			name: "sad path: broken wrapper-looking object is read as one record", file: "a.json",
			content: "{\n\"meta\": {\"x\": 1},\n\"id\": \"a\" \"b\"\n}",
			want:    []want{{1, 1, "", "a.json: record 1 (line 1): invalid JSON: invalid character '\"' after object key:value pair at offset 30"}},
		},
		{
			name: "happy path: hit without _source is kept whole", file: "a.json",
			content: `{"hits":{"hits":[{"_id":"h1","fields":{"x":1}}]}}`,
			want:    []want{{1, 1, "h1", ""}},
		},
		{
			name: "happy path: splunk-looking line with extra keys is kept whole", file: "a.ndjson",
			content: "{\"preview\":false,\"result\":{\"id\":\"inner\"},\"id\":\"outer\"}\n{\"result\":\"text\",\"id\":\"x\"}\n",
			want:    []want{{1, 1, "outer", ""}, {2, 2, "x", ""}},
		},
		{
			name: "happy path: empty array holds no records", file: "a.json", content: " [ ] ",
		},
		{
			name: "happy path: empty wrapper holds no records", file: "a.json", content: `{"@odata.context":"x","value":[]}`,
		},
		{
			name: "happy path: an array of scalars under a wrapper key is a member of one alert", file: "a.json",
			content: "{\n\"id\": \"x\",\n\"value\": [1, 2],\n\"results\": [\"a\"]\n}",
			want:    []want{{1, 1, "x", ""}},
		},
		{
			name: "happy path: wrapper arrays after other members, all of them read", file: "a.json",
			content: `{"meta":{"alerts":[{"id":"no"}]},"alerts":[{"id":"a"}],"Results":[{"id":"b"}]}`,
			want:    []want{{1, 1, "a", ""}, {2, 1, "b", ""}},
		},
		{
			name: "happy path: forced ndjson over a .json name", file: "a.json", content: "{\"id\":\"a\"}", opts: Options{Format: FormatNDJSON},
			want: []want{{1, 1, "a", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeTemp(t, tt.file, []byte(tt.content))
			recs, err := readAll(t, path, tt.opts)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				assert.Empty(t, recs)
				return
			}
			require.NoError(t, err)
			var got []want
			for _, rec := range recs {
				w := want{index: rec.Index, line: rec.Line}
				if rec.Err != nil {
					assert.Nil(t, rec.Raw)
					assert.Equal(t, rec.Index, rec.Err.Record)
					assert.Equal(t, rec.Line, rec.Err.Line)
					w.err = rec.Err.Error()
				} else {
					assert.True(t, json.Valid(rec.Raw), "valid JSON: %q", rec.Raw)
					w.id = ID(rec)
				}
				got = append(got, w)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadMaxRecordBytes(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 300)
	huge := strings.Repeat("y", 700<<10) // beyond the CSV read-ahead slack
	tests := []struct {
		name    string
		file    string
		content string
		max     int
		want    []want
	}{
		{
			name: "sad path: ndjson line over the limit is skipped", file: "a.ndjson", max: 100,
			content: "{\"id\":\"a\"}\n{\"id\":\"" + big + "\"}\n{\"id\":\"c\"}\n",
			want:    []want{{1, 1, "a", ""}, {2, 2, "", "a.ndjson: record 2 (line 2): record exceeds 100 bytes"}, {3, 3, "c", ""}},
		},
		{
			name: "sad path: ndjson line over the read buffer and the limit", file: "a.ndjson", max: 1 << 10,
			content: "{\"id\":\"" + huge + "\"}\n{\"id\":\"c\"}\n",
			want:    []want{{1, 1, "", "a.ndjson: record 1 (line 1): record exceeds 1 KiB"}, {2, 2, "c", ""}},
		},
		{
			name: "sad path: json array element over the limit is skipped", file: "a.json", max: 100,
			content: "[{\"id\":\"a\"},\n{\"id\":\"" + big + "\"},\n{\"id\":\"c\"}]",
			want:    []want{{1, 1, "a", ""}, {2, 2, "", "a.json: record 2 (line 2): record exceeds 100 bytes"}, {3, 3, "c", ""}},
		},
		{
			name: "sad path: a lone object over the limit", file: "a.json", max: 100,
			content: "{\n\"id\":\"" + big + "\"\n}",
			want:    []want{{1, 1, "", "a.json: record 1 (line 1): record exceeds 100 bytes"}},
		},
		{
			name: "sad path: csv row over the limit is skipped", file: "a.csv", max: 1 << 10,
			content: "id,msg\n1,ok\n2," + huge + "\n3,fine\n",
			want:    []want{{1, 2, "1", ""}, {2, 3, "", "a.csv: record 2 (line 3): record exceeds 1 KiB"}, {3, 4, "3", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeTemp(t, tt.file, []byte(tt.content))
			recs, err := readAll(t, path, Options{MaxRecordBytes: tt.max})
			require.NoError(t, err)
			var got []want
			for _, rec := range recs {
				w := want{index: rec.Index, line: rec.Line}
				if rec.Err != nil {
					w.err = rec.Err.Error()
				} else {
					w.id = ID(rec)
				}
				got = append(got, w)
			}
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "64 MiB", sizeString(DefaultMaxRecordBytes))
}

func TestReadLargeField(t *testing.T) {
	t.Parallel()
	field := strings.Repeat("A", 5<<20) + " 185.220.101.45"
	tests := []struct {
		name    string
		file    string
		content string
	}{
		{name: "happy path: 5 MB string in ndjson", file: "a.ndjson", content: `{"id":"a","blob":"` + field + `"}` + "\n"},
		{name: "happy path: 5 MB string in a json array", file: "a.json", content: `[{"id":"a","blob":"` + field + `"}]`},
		{name: "happy path: 5 MB string in a wrapper", file: "a.json", content: `{"hits":{"hits":[{"_id":"a","_source":{"blob":"` + field + `"}}]}}`},
		{name: "happy path: 5 MB csv cell", file: "a.csv", content: "id,blob\na,\"" + field + "\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, err := readAll(t, writeTemp(t, tt.file, []byte(tt.content)), Options{})
			require.NoError(t, err)
			require.Len(t, recs, 1)
			require.Nil(t, recs[0].Err)
			assert.Equal(t, "a", ID(recs[0]))
			assert.Equal(t, []string{field}, valuesAt(t, recs[0].Raw, "blob"))
		})
	}
}

// TestReadStreamsHugeWrapper checks that an Elasticsearch response is read one
// hit at a time: memory stays flat however many hits the file holds. Not
// parallel, so that the heap measurements see only this test.
func TestReadStreamsHugeWrapper(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 40 MB file")
	}
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bytes.NewBufferString(`{"took":1,"hits":{"total":{"value":1},"hits":[`)
	const n = 100_000
	for i := 0; i < n; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"_index":"alerts","_id":"hit-%d","_source":{"source":{"ip":"10.0.%d.%d"},"message":"%s"}}`,
			i, i/256%256, i%256, strings.Repeat("z", 300))
		if w.Len() > 1<<20 {
			_, err = w.WriteTo(f)
			require.NoError(t, err)
		}
	}
	w.WriteString("]},\"aggregations\":{}}")
	_, err = w.WriteTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)

	r, err := Open(path, "huge.json", Options{})
	require.NoError(t, err)
	defer r.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	count := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.Nil(t, rec.Err)
		count++
		if count == 1 || count%10_000 == 0 {
			assert.Equal(t, fmt.Sprintf("hit-%d", count-1), rec.HitID)
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	assert.Equal(t, n, count)
	assert.Less(t, cap(r.capBuf), 4<<10, "the capture buffer holds one hit, not the array")
	growth := int64(peak) - int64(base)
	assert.Less(t, growth, fi.Size()/4, "heap grew by %d bytes reading a %d-byte file", growth, fi.Size())
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	_, err := Open(filepath.Join(t.TempDir(), "missing.json"), "missing.json", Options{})
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "missing.json", fe.File)
	assert.ErrorIs(t, err, os.ErrNotExist)

	_, err = Open(t.TempDir(), "dir", Options{})
	require.EqualError(t, err, "dir: not a regular file")

	_, err = Open(writeTemp(t, "a.json", []byte("[]")), "a.json", Options{Format: "xml"})
	require.ErrorContains(t, err, `unknown input format "xml"`)
}

func TestRecordErrorMessage(t *testing.T) {
	t.Parallel()
	e := &RecordError{File: "alerts.json", Record: 2, Line: 2, Reason: "invalid JSON: x"}
	assert.Equal(t, "alerts.json: record 2 (line 2): invalid JSON: x", e.Error())
	fe := &FileError{File: "a.json", Err: ErrEmpty}
	assert.Equal(t, "a.json: file is empty", fe.Error())
	assert.ErrorIs(t, fe, ErrEmpty)
}

func TestSplunkEnvelopeWithoutResultIsNotAnAlert(t *testing.T) {
	t.Parallel()
	path := writeTemp(t, "export.ndjson", []byte(`{"preview":false,"offset":0,"result":{"src":"1.2.3.4"}}
{"preview":false,"messages":[{"type":"INFO","text":"search done"}]}
{"preview":false,"offset":1,"lastrow":true,"result":{"src":"5.6.7.8"}}
{"preview":false,"lastrow":true}
`))
	recs, err := readAll(t, path, Options{})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.JSONEq(t, `{"src":"1.2.3.4"}`, string(recs[0].Raw))
	assert.Equal(t, 1, recs[0].Index)
	assert.JSONEq(t, `{"src":"5.6.7.8"}`, string(recs[1].Raw))
	assert.Equal(t, 2, recs[1].Index)
	assert.Equal(t, 3, recs[1].Line)
}
