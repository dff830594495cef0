package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestInterruptedError(t *testing.T) {
	t.Parallel()
	cause := fmt.Errorf("lookups interrupted: %w", context.Canceled)
	tests := []struct {
		name     string
		sig      os.Signal
		wantCode int
		wantMsg  string
	}{
		{name: "SIGINT", sig: os.Interrupt, wantCode: ExitSIGINT, wantMsg: "interrupted by SIGINT"},
		{name: "SIGTERM", sig: syscall.SIGTERM, wantCode: ExitSIGTERM, wantMsg: "interrupted by SIGTERM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &InterruptedError{Signal: tt.sig, Err: cause}
			assert.Equal(t, tt.wantCode, e.ExitCode())
			assert.Equal(t, tt.wantMsg, e.Error())
			assert.ErrorIs(t, e, context.Canceled, "what the stopped work returned stays reachable")
			var target *InterruptedError
			assert.True(t, errors.As(fmt.Errorf("run: %w", e), &target))
		})
	}
	assert.Equal(t, []int{130, 143}, []int{ExitSIGINT, ExitSIGTERM}, "CONTRACT.md exit codes")
}
