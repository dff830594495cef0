package abusech_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/verdict-dev/verdict/pkg/intel"
	"github.com/verdict-dev/verdict/pkg/intel/abusech"
	"github.com/verdict-dev/verdict/pkg/intel/httpapi"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		wantStatus string
		check      func(t *testing.T, err error)
	}{
		{name: "ok", status: 200, header: jsonHdr, body: `{"query_status":"ok"}`, wantStatus: "ok"},
		{name: "the documentation's typo", status: 200, header: jsonHdr, body: `{"query_staus":"ok"}`, wantStatus: "ok"},
		{name: "no_results", status: 200, header: jsonHdr, body: `{"query_status":"no_results"}`,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }},
		{name: "no_result", status: 200, header: jsonHdr, body: `{"query_status":"no_result","data":"x"}`,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrNotFound) }},
		{name: "unknown_auth_key", status: 200, header: jsonHdr, body: `{"query_status":"unknown_auth_key"}`,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "403", status: 403, body: "forbidden",
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrUnauthorized) }},
		{name: "invalid_host", status: 200, header: jsonHdr, body: `{"query_status":"invalid_host"}`,
			check: func(t *testing.T, err error) {
				var he *intel.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, "invalid_host", he.Code)
				assert.False(t, he.Retryable)
			}},
		{name: "429 with a date", status: 429, header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}},
			check: func(t *testing.T, err error) {
				var rl *intel.RateLimitError
				require.ErrorAs(t, err, &rl)
				assert.Equal(t, 90*time.Second, rl.RetryAfter)
			}},
		{name: "status in a 5xx", status: 502, header: jsonHdr, body: `{"query_status":"upstream"}`,
			check: func(t *testing.T, err error) {
				var he *intel.HTTPError
				require.ErrorAs(t, err, &he)
				assert.True(t, he.Retryable)
			}},
		{name: "no status", status: 200, header: jsonHdr, body: `[1,2]`,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
		{name: "a status that is not a string", status: 200, header: jsonHdr, body: `{"query_status":5}`,
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, intel.ErrBadResponse) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			st, err := abusech.Status("urlhaus", &httpapi.Response{Status: tt.status, Header: h, Body: []byte(tt.body)}, now)
			if tt.check == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, st)
				return
			}
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

func TestLenientFields(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D, E abusech.Int
		F, G, H       abusech.Bool
		S, T, U       abusech.Str
		L, M, N       abusech.Strs
	}
	require.NoError(t, json.Unmarshal([]byte(`{"A":"3248","B":75,"C":null,"D":"many","E":2.0,
		"F":"true","G":false,"H":"maybe","S":"x","T":7,"U":{"o":1},"L":["a",null,3,"b"],"M":"a, b,,c","N":{}}`), &v))
	assert.Equal(t, []abusech.Int{{3248, true}, {75, true}, {}, {}, {2, true}}, []abusech.Int{v.A, v.B, v.C, v.D, v.E})
	assert.Equal(t, 3248, *v.A.Ptr())
	assert.Nil(t, v.C.Ptr())
	assert.Equal(t, []abusech.Bool{{true, true}, {false, true}, {}}, []abusech.Bool{v.F, v.G, v.H})
	assert.Equal(t, []abusech.Str{"x", "7", ""}, []abusech.Str{v.S, v.T, v.U})
	assert.Equal(t, abusech.Strs{"a", "b"}, v.L)
	assert.Equal(t, abusech.Strs{"a", "b", "c"}, v.M)
	assert.Nil(t, v.N)
}

func TestTextAndDate(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "a b ]52;c c", abusech.Text(" a\n\tb \x1b]52;c\x07 c ", 100), "no escape character reaches a terminal")
	assert.NotContains(t, abusech.Text("evil\u202etxt.exe", 100), "\u202e")
	assert.Equal(t, "éé…", abusech.Text("ééé", 5), "never cut inside a character")
	assert.Equal(t, "\uFFFD", abusech.Text("\xff", 10))
	for in, want := range map[string]string{
		"2019-01-19 01:33:26 UTC": "2019-01-19T01:33:26Z",
		"2019-01-19 13:59:06":     "2019-01-19T13:59:06Z",
		"2019-01-19":              "2019-01-19",
		"2026-11-20T10:00:00Z":    "2026-11-20T10:00:00Z",
		"yesterday":               "",
		"":                        "",
	} {
		assert.Equal(t, want, abusech.Date(in), in)
	}
	assert.Equal(t, []string{"Mozi", "elf"}, abusech.Unique([]string{"Mozi"}, 5, "mozi", "", "elf", " \x00 "))
	assert.Len(t, abusech.Unique(nil, 2, "a", "b", "c"), 2)
}
