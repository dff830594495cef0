package internetdb_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// newStatic serves one answer to every request, for answers the fake does
// not play (hostile ones, the documented examples verbatim).
func newStatic(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
