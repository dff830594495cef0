package inteltest

import (
	"fmt"
	"net/http"
	"time"
)

// play is common for the fakes whose error bodies have their own shape
// (GreyNoise, InternetDB, RDAP): body(status, message) writes one. The
// 429 of Fault429 and Fault429Once carries Retry-After: 1; that of
// Fault429NoRetryAfter none. It reports whether it answered.
func (s *Server) play(w http.ResponseWriter, r *http.Request, value string, body func(status int, msg string) any) bool {
	f, n := s.fault(value)
	switch f {
	case Fault401:
		writeJSON(w, 401, body(401, "Unauthorized"))
	case Fault429:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, 429, body(429, "Too many requests"))
	case Fault429NoRetryAfter:
		writeJSON(w, 429, body(429, "Too many requests"))
	case Fault429HTML:
		writeHTML(w, 429)
	case Fault500:
		writeJSON(w, 500, body(500, "internal error"))
	case Fault503:
		writeJSON(w, 503, body(503, "try again"))
	case FaultHTML502:
		writeHTML(w, 502)
	case FaultGarbage:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, "\x00\x01 this is not json at all <html>")
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ip": "1.2.3.4", "ports": [22, 8`)
	case Fault422:
		writeJSON(w, 422, body(422, "unprocessable"))
	case FaultSlow:
		select {
		case <-time.After(s.SlowDelay):
		case <-r.Context().Done():
		}
		return false
	case Fault429Once:
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, body(429, "Too many requests"))
			return true
		}
		return false
	case FaultFlaky:
		if n <= 2 {
			writeJSON(w, 503, body(503, "overloaded"))
			return true
		}
		return false
	default:
		return false
	}
	return true
}
