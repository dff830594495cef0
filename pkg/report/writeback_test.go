package report

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowWriter records what it is given, checking that writes never overlap.
type slowWriter struct {
	mu      sync.Mutex
	busy    bool
	got     bytes.Buffer
	writes  int
	failAt  int // the write that fails, 1-based; 0 never
	overlap bool
}

func (s *slowWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.busy {
		s.overlap = true
	}
	s.busy = true
	s.writes++
	n := s.writes
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.busy = false; s.mu.Unlock() }()
	if n == s.failAt {
		return 0, errors.New("disk full")
	}
	return s.got.Write(p)
}

func TestWriteBehind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		parts   []string
		failAt  int
		wantErr string
	}{
		{"happy path: in order, across many buffers", 7, []string{"hello, ", "world", "", strings.Repeat("x", 100), "!"}, 0, ""},
		{"happy path: less than a buffer", 1 << 10, []string{"a", "b"}, 0, ""},
		{"sad path: a write fails", 4, []string{"abcdefgh", "ijkl", "mnop"}, 2, "disk full"},
		{"sad path: the last write fails", 1 << 10, []string{"abc"}, 1, "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sw := &slowWriter{failAt: tt.failAt}
			b := newWriteBehind(sw, tt.size)
			var err error
			for i, p := range tt.parts {
				switch i % 3 { // every way in
				case 0:
					_, err = b.Write([]byte(p))
				case 1:
					_, err = b.WriteString(p)
				default:
					for j := 0; j < len(p) && err == nil; j++ {
						err = b.WriteByte(p[j])
					}
				}
				if err != nil {
					break
				}
			}
			if err == nil {
				err = b.Flush()
			}
			assert.False(t, sw.overlap, "two writes at once")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				_, again := b.Write([]byte("more"))
				assert.ErrorContains(t, again, tt.wantErr, "the error sticks")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, strings.Join(tt.parts, ""), sw.got.String())
		})
	}
}
