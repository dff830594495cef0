package ratelimit

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Rate
		wantErr string
	}{
		{name: "happy path: per minute", in: "4/m", want: Rate{N: 4, Per: time.Minute}},
		{name: "per second", in: "30/s", want: Rate{N: 30, Per: time.Second}},
		{name: "per hour, long unit", in: "100/hour", want: Rate{N: 100, Per: time.Hour}},
		{name: "per day, spaces and capitals", in: "  1000 / D ", want: Rate{N: 1000, Per: 24 * time.Hour}},
		{name: "zero is no limit", in: "0", want: Rate{}},
		{name: "empty is no limit", in: "", want: Rate{}},
		{name: "unlimited", in: "unlimited", want: Rate{}},
		{name: "zero per second is no limit", in: "0/s", want: Rate{}},
		{name: "sad path: no unit", in: "4", wantErr: `invalid rate "4": want N/s, N/m, N/h, N/d or 0`},
		{name: "sad path: bad unit", in: "4/w", wantErr: `invalid rate "4/w": unit must be s, m, h or d`},
		{name: "sad path: negative", in: "-1/s", wantErr: `"-1" is not a whole number`},
		{name: "sad path: fraction", in: "0.5/s", wantErr: `"0.5" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrBadRate)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRateFigures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rate     Rate
		str      string
		interval time.Duration
		window   time.Duration
		paced    time.Duration // Duration(5): four gaps at the limiter's pace
	}{
		{rate: Rate{N: 4, Per: time.Minute}, str: "4/m", interval: 15 * time.Second, window: time.Minute, paced: 4 * 15150 * time.Millisecond},
		{rate: Rate{N: 30, Per: time.Second}, str: "30/s", interval: time.Second / 30, window: time.Second, paced: 4 * (1010 * time.Millisecond / 30)},
		{rate: Rate{N: 1000, Per: 24 * time.Hour}, str: "1000/d", interval: 86400 * time.Millisecond, window: 24 * time.Hour, paced: 4 * (24*time.Hour + 864*time.Second) / 1000},
		{rate: Rate{}, str: "0", interval: 0, window: time.Second, paced: 0},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.interval, tt.rate.Interval())
			assert.Equal(t, tt.window, tt.rate.Window(), "a 429 without Retry-After waits one window, at least 1 s")
			assert.Equal(t, tt.paced, tt.rate.Duration(5))
			assert.Equal(t, time.Duration(0), tt.rate.Duration(1))
			assert.Equal(t, tt.str, tt.rate.String())
			back, err := Parse(tt.str)
			require.NoError(t, err)
			assert.Equal(t, tt.rate, back)
		})
	}
}

// FuzzParse: any string either fails with ErrBadRate or yields a rate
// that String writes back in a form Parse reads to the same rate.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"4/m", "1/s", "0", "1000/d", " 7 / hour ", "x/y", "-3/s", "99999999999999999999/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrBadRate) {
				t.Fatalf("Parse(%q): %v is not ErrBadRate", s, err)
			}
			return
		}
		back, err := Parse(r.String())
		if err != nil || back != r {
			t.Fatalf("Parse(%q) = %v; String %q parses to %v, %v", s, r, r.String(), back, err)
		}
		if r.Unlimited() != (r.N == 0) || (!r.Unlimited() && r.Window() != r.Per) {
			t.Fatalf("rate %v: unlimited %v, window %v", r, r.Unlimited(), r.Window())
		}
	})
}
