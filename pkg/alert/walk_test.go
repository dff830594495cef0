package alert

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonString returns v as a JSON string literal.
func jsonString(t testing.TB, v string) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestWalk(t *testing.T) {
	t.Parallel()
	// Four JSON documents nested in strings: only three are walked.
	l4 := `{"e":"deepest"}`
	l3 := `{"d":` + jsonString(t, l4) + `}`
	l2 := `{"c":` + jsonString(t, l3) + `}`
	l1 := `{"b":` + jsonString(t, l2) + `}`
	tests := []struct {
		name string
		raw  string
		want []scalar
	}{
		{
			name: "happy path: nested objects and arrays; array elements add no segment",
			raw:  `{"a":{"b":[1,{"c":"x"}]},"d":true,"e":null,"f":false}`,
			want: []scalar{
				{"a.b", "a.b", KindNumber, "1"},
				{"a.b.c", "a.b.c", KindString, "x"},
				{"d", "d", KindBool, "true"},
				{"e", "e", KindNull, "null"},
				{"f", "f", KindBool, "false"},
			},
		},
		{
			name: "happy path: every escape and a surrogate pair",
			raw:  `{"s":"q\"b\\s\/b\bf\fn\nr\rt\t\u00e9\ud83d\ude00"}`,
			want: []scalar{{"s", "s", KindString, "q\"b\\s/b\bf\fn\nr\rt\té😀"}},
		},
		{
			name: "happy path: lone surrogates become U+FFFD",
			raw:  `{"s":"x\ud800y\udc00z\ud800\u0041"}`,
			want: []scalar{{"s", "s", KindString, "x\uFFFDy\uFFFDz\uFFFDA"}},
		},
		{
			name: "happy path: invalid UTF-8 becomes U+FFFD",
			raw:  "{\"s\":\"a\xffb\",\"t\":\"\\n\xc3\"}",
			want: []scalar{{"s", "s", KindString, "a\uFFFDb"}, {"t", "t", KindString, "\n\uFFFD"}},
		},
		{
			name: "happy path: zeek keys with dots are single keys",
			raw:  `{"id.orig_h":"10.0.0.1","ID":{"Orig-H":"10.0.0.2"},"id_orig_h":"10.0.0.3"}`,
			want: []scalar{
				{"id.orig_h", "id.orig.h", KindString, "10.0.0.1"},
				{"ID.Orig-H", "id.orig.h", KindString, "10.0.0.2"},
				{"id_orig_h", "id.orig.h", KindString, "10.0.0.3"},
			},
		},
		{
			name: "happy path: json object in a string is walked under the same path",
			raw:  `{"Device":"{\"external_ip\":\"10.171.6.227\",\"n\":1}"}`,
			want: []scalar{
				{"Device.external_ip", "device.external.ip", KindString, "10.171.6.227"},
				{"Device.n", "device.n", KindNumber, "1"},
			},
		},
		{
			name: "happy path: json array in a string, with surrounding whitespace",
			raw:  `{"m":" [{\"t\":\"x\"},2] "}`,
			want: []scalar{{"m.t", "m.t", KindString, "x"}, {"m", "m", KindNumber, "2"}},
		},
		{
			name: "happy path: strings that only look like json stay strings",
			raw:  `{"a":"[.] defanged","b":"{not json}","c":"[1,2","d":"{}x"}`,
			want: []scalar{
				{"a", "a", KindString, "[.] defanged"},
				{"b", "b", KindString, "{not json}"},
				{"c", "c", KindString, "[1,2"},
				{"d", "d", KindString, "{}x"},
			},
		},
		{
			name: "happy path: json in strings is walked three documents deep",
			raw:  `{"a":` + jsonString(t, l1) + `}`,
			want: []scalar{{"a.b.c.d", "a.b.c.d", KindString, l4}},
		},
		{
			name: "happy path: numbers are reported as written",
			raw:  `{"n":[-0,1.5e10,0.25,-12,3E-2]}`,
			want: []scalar{
				{"n", "n", KindNumber, "-0"}, {"n", "n", KindNumber, "1.5e10"}, {"n", "n", KindNumber, "0.25"},
				{"n", "n", KindNumber, "-12"}, {"n", "n", KindNumber, "3E-2"},
			},
		},
		{
			name: "happy path: non-ascii keys are lower-cased",
			raw:  `{"ÄB_c":{"X-Y":1}}`,
			want: []scalar{{"ÄB_c.X-Y", "äb.c.x.y", KindNumber, "1"}},
		},
		{
			name: "happy path: a root array and scalars",
			raw:  ` [1, "a"] `,
			want: []scalar{{"", "", KindNumber, "1"}, {"", "", KindString, "a"}},
		},
		{name: "happy path: empty object", raw: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, walkAll(t, []byte(tt.raw)))
		})
	}
}

func TestWalkInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		raw     string
		wantErr string
	}{
		{name: "empty input", raw: "", wantErr: "unexpected end of JSON input"},
		{name: "trailing comma in object", raw: `{"a":1,}`, wantErr: "invalid character '}' looking for beginning of object key string at offset 7"},
		{name: "missing colon", raw: `{"a" 1}`, wantErr: "invalid character '1' after object key at offset 5"},
		{name: "leading zero", raw: `{"a":01}`, wantErr: "invalid character '1' after object key:value pair at offset 6"},
		{name: "trailing comma in array", raw: `[1,]`, wantErr: "invalid character ']' looking for beginning of value at offset 3"},
		{name: "bad literal", raw: `{"a":tru}`, wantErr: "invalid character '}' in literal true (expecting 'e') at offset 8"},
		{name: "bad escape", raw: `{"a":"\x"}`, wantErr: `invalid character 'x' in string escape code at offset 7`},
		{name: "bad unicode escape", raw: `{"a":"\u12G4"}`, wantErr: `invalid character 'G' in \u hexadecimal character escape at offset 10`},
		{name: "unterminated string", raw: `{"a":"x`, wantErr: "unexpected end of JSON input"},
		{name: "raw newline in string", raw: "{\"a\":\"x\ny\"}", wantErr: `invalid character '\n' in string literal at offset 7`},
		{name: "minus alone", raw: `{"a":-}`, wantErr: "invalid character '}' in numeric literal at offset 6"},
		{name: "dot without digits", raw: `{"a":1.}`, wantErr: "invalid character '}' in numeric literal at offset 7"},
		{name: "exponent without digits", raw: `{"a":1e+}`, wantErr: "invalid character '}' in exponent of numeric literal at offset 8"},
		{name: "two documents", raw: `{"a":1} {"b":2}`, wantErr: "invalid character '{' after top-level value at offset 8"},
		{name: "single quotes", raw: `{'a':1}`, wantErr: `invalid character '\'' looking for beginning of object key string at offset 1`},
		{name: "nesting deeper than 512", raw: strings.Repeat("[", 513) + strings.Repeat("]", 513), wantErr: "exceeded max nesting depth of 512 at offset 512"},
		{name: "missing value", raw: `{"a":}`, wantErr: "invalid character '}' looking for beginning of value at offset 5"},
		{name: "missing bracket", raw: `{"a":[1}`, wantErr: "invalid character '}' after array element at offset 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Walk([]byte(tt.raw), func(*Path, Kind, string) {})
			require.EqualError(t, err, tt.wantErr)
			if !strings.HasPrefix(tt.name, "nesting") { // encoding/json allows 10000 levels
				assert.False(t, json.Valid([]byte(tt.raw)), "encoding/json agrees it is invalid")
			}
			assert.Error(t, validate([]byte(tt.raw)), "the validator agrees with Walk")
		})
	}
	t.Run("512 levels are fine", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, Walk([]byte(strings.Repeat("[", 512)+strings.Repeat("]", 512)), func(*Path, Kind, string) {}))
	})
	t.Run("a million levels neither crash nor recurse far", func(t *testing.T) {
		t.Parallel()
		require.Error(t, Walk([]byte(strings.Repeat("[", 1_000_000)), func(*Path, Kind, string) {}))
	})
}

func TestPath(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"Source":{"IP_Address":"1.2.3.4","geo":{"Country-Name":"X"}},"source.ip_address":"5.6.7.8"}`)
	var got [][3]string
	require.NoError(t, Walk(raw, func(p *Path, _ Kind, _ string) {
		// Called twice to exercise the per-depth cache.
		_ = p.Normalized()
		got = append(got, [3]string{strings.Join(p.Keys(), "|"), p.String(), p.Normalized()})
	}))
	assert.Equal(t, [][3]string{
		{"Source|IP_Address", "Source.IP_Address", "source.ip.address"},
		{"Source|geo|Country-Name", "Source.geo.Country-Name", "source.geo.country.name"},
		{"source.ip_address", "source.ip_address", "source.ip.address"},
	}, got)
}

func TestIDRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   int
		wantOK bool
	}{
		{"alert.id", 0, true},
		{"alert_id", 0, true},
		{"Alert-ID", 0, true},
		{"id", 1, true},
		{"ID", 1, true},
		{"event.id", 2, true},
		{"event_id", 2, true},
		{".id", 3, true},
		{"_id", 3, true},
		{"systemalertid", 4, true},
		{"SystemAlertId", 4, true},
		{"rule.id", 0, false},
		{"alertid", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := IDRank(tt.in)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		raw   string
		hitID string
		want  string
	}{
		{name: "alert_id wins over id", raw: `{"id":"b","alert_id":"a"}`, want: "a"},
		{name: "id wins over event.id", raw: `{"event":{"id":"e"},"id":"i"}`, want: "i"},
		{name: "nested event.id", raw: `{"event":{"id":"e"},"SystemAlertId":"s"}`, want: "e"},
		{name: "flat event.id", raw: `{"event.id":"e"}`, want: "e"},
		{name: "SystemAlertId last", raw: `{"SystemAlertId":"s"}`, want: "s"},
		{name: "case and separators do not matter", raw: `{"ALERT-ID":"x"}`, want: "x"},
		{name: "numeric id", raw: `{"id":12345}`, want: "12345"},
		{name: "null and empty ids are skipped", raw: `{"alert_id":null,"id":"","event_id":"e"}`, want: "e"},
		{name: "the first of equal rank wins", raw: `{"id":"1","Id":"2"}`, want: "1"},
		{name: "rule.id is not an id", raw: `{"rule":{"id":"5712"}}`, want: ""},
		{name: "hit _id when the source has no id", raw: `{"a":1}`, hitID: "h", want: "h"},
		{name: "hit _id loses to the source's own _id", raw: `{"_id":"s"}`, hitID: "h", want: "s"},
		{name: "hit _id loses to id", raw: `{"id":"i"}`, hitID: "h", want: "i"},
		{name: "hit _id beats SystemAlertId", raw: `{"SystemAlertId":"s"}`, hitID: "h", want: "h"},
		{name: "no id at all", raw: `{"a":"b"}`, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, ID(Record{Raw: []byte(tt.raw), HitID: tt.hitID}))
		})
	}
	assert.Empty(t, ID(Record{Err: &RecordError{}}), "a malformed record has no id")
}

func TestFields(t *testing.T) {
	t.Parallel()
	raw := []byte(` { "a" : "x\"}\\" , "b":[1,{"c":"]"}],"_source":{"k":"v"},"n":-1.5e3,"t":true,"z":null} `)
	var got []string
	fields(raw, func(key string, val []byte) bool {
		got = append(got, key+"="+string(val))
		return key != "t"
	})
	assert.Equal(t, []string{`a="x\"}\\"`, `b=[1,{"c":"]"}]`, `_source={"k":"v"}`, `n=-1.5e3`, `t=true`}, got)
	assert.Equal(t, `a"b`, decodeScalar([]byte(`"a\"b"`)))
	assert.Equal(t, "12", decodeScalar([]byte(`12`)))
}
