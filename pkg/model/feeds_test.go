package model

import (
	"testing"
	"time"
)

func TestFormatAge(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", 45 * time.Minute: "45m", 5 * time.Hour: "5h", 47 * time.Hour: "47h",
		2 * day: "2d", 364 * day: "364d", 365 * day: "1y", 973 * day: "2y 243d",
	} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
