// Package safehttp builds the HTTP clients verdict talks to remote APIs
// with (VirusTotal, AbuseIPDB, Gemini and every provider to come), so that a
// hostile or broken server, or a hostile redirect, can neither take an API
// key elsewhere, exhaust memory, nor plant a key in a report, a log line, an
// error or the cache:
//
//   - redirects are followed only to the same scheme, host and port; a
//     redirect anywhere else is refused with a *RedirectError unless
//     Options.AllowRedirect allows it, and then no credential header goes
//     along;
//   - every response body is read whole on the first Read, at most
//     Options.MaxBody bytes after decompression, and a longer one is a
//     *BodyTooLargeError (a gzip stream that decompresses to nothing, like
//     a server that trickles, is stopped by Options.Timeout instead);
//   - every configured secret is scrubbed out of response headers, trailers,
//     the status line, the body and transport errors before the caller sees
//     them.
//
// Keys must travel in request headers, never in URLs: net/http prints the
// request URL in every *url.Error, and no transport can scrub that.
//
// Bodies are buffered, so this client is not for streaming answers.
package safehttp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// Defaults for the zero Options.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultMaxBody       int64 = 16 << 20
	DefaultDialTimeout         = 10 * time.Second
	DefaultTLSTimeout          = 10 * time.Second
	DefaultMaxHeaderSize int64 = 1 << 20
	// MaxRedirects is how many redirects one request may follow, as with
	// net/http's default policy.
	MaxRedirects = 10
)

// Options configures New. The zero value is a usable client.
type Options struct {
	// Timeout bounds one request from dialling to the last byte of the
	// body, redirects included (http.Client.Timeout). Default 30 s.
	Timeout time.Duration
	// DialTimeout bounds connecting (TCP). Default 10 s.
	DialTimeout time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake. Default 10 s.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response headers once
	// the request is sent. Default: Timeout.
	ResponseHeaderTimeout time.Duration
	// MaxBody is the most a response body may hold after decompression.
	// Default 16 MiB.
	MaxBody int64
	// Secrets are the configured API keys (and any other credential). They
	// are scrubbed from everything a server sends back, and a redirect that
	// leaves the first host never carries a header holding one. Empty and
	// short values are ignored (see NewScrubber).
	Secrets []string
	// AllowRedirect, when set, is asked about each redirect to another
	// scheme, host or port; returning true follows it, with every credential
	// header (the known key headers, Authorization, Cookie, Referer and any
	// header holding a secret) stripped from that hop and every later one.
	// It may be called more than once for one hop, and from concurrent
	// requests. Nil refuses all such redirects. AllowHTTPS suits a keyless API that hands out redirects
	// between servers (RDAP).
	AllowRedirect func(from, to *url.URL) bool
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.TLSHandshakeTimeout <= 0 {
		o.TLSHandshakeTimeout = DefaultTLSTimeout
	}
	if o.ResponseHeaderTimeout <= 0 {
		o.ResponseHeaderTimeout = o.Timeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	return o
}

// New returns a client for talking to remote APIs: the proxy from the
// environment as it is when New is called (HTTPS_PROXY, HTTP_PROXY,
// NO_PROXY and their lower-case forms; never for localhost), explicit dial, TLS,
// response-header and overall timeouts, TLS 1.2 or later, net/http's own
// gzip negotiation (callers must not set Accept-Encoding: a hand-set one
// turns off decoding, which once made vt-go read a 429 as "gzip: invalid
// header"), and the redirect, body-size and scrubbing rules of the package.
func New(o Options) *http.Client {
	o = o.withDefaults()
	p := &policy{scrub: NewScrubber(o.Secrets...), allow: o.AllowRedirect, maxBody: o.MaxBody}
	// httpproxy is what http.ProxyFromEnvironment uses, read now rather
	// than once per process, so each client sees the environment it was
	// built in.
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	base := &http.Transport{
		Proxy:                  func(r *http.Request) (*url.URL, error) { return proxy(r.URL) },
		DialContext:            (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    o.TLSHandshakeTimeout,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: DefaultMaxHeaderSize,
		MaxIdleConnsPerHost:    8,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Timeout:       o.Timeout,
		Transport:     &transport{base: base, p: p},
		CheckRedirect: p.checkRedirect,
	}
}

// AllowHTTPS is an Options.AllowRedirect policy that follows redirects to
// any host over https, never to plain http.
func AllowHTTPS(_, to *url.URL) bool { return strings.EqualFold(to.Scheme, "https") }

// ErrRedirectRefused is matched (errors.Is) by every *RedirectError.
var ErrRedirectRefused = errors.New("redirect to another host refused")

// RedirectError is a redirect to another scheme, host or port that the
// client refused to follow. From and To are origins (scheme://host[:port]):
// never a path or a query string, which may carry tokens.
type RedirectError struct {
	Status   int
	From, To string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused redirect (HTTP %d) from %s to %s: API keys are never sent to another host", e.Status, e.From, e.To)
}

// Is makes errors.Is(err, ErrRedirectRefused) true.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirectRefused }

// policy holds the rules the transport and the redirect check share.
type policy struct {
	scrub   *Scrubber
	allow   func(from, to *url.URL) bool
	maxBody int64
}

// transport applies the policy to every response. It refuses a foreign
// redirect itself, rather than leaving it to CheckRedirect, because
// net/http puts the redirect target, query string and all, into the error
// CheckRedirect's refusal becomes.
type transport struct {
	base http.RoundTripper
	p    *policy
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, t.p.scrubError(err)
	}
	resp.Status = t.p.scrub.Scrub(resp.Status)
	t.p.scrubHeader(resp.Header)
	if to := redirectTarget(req, resp); to != nil && !t.p.mayFollow(req.URL, to) {
		resp.Body.Close() // the connection is not reused: draining it would read what a hostile server chose
		return nil, &RedirectError{Status: resp.StatusCode, From: origin(req.URL), To: origin(to)}
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		return resp, nil
	}
	declared := resp.ContentLength
	if resp.Uncompressed {
		declared = -1 // the length of the compressed stream says nothing
	}
	if !t.p.scrub.Empty() {
		// Scrubbing may change the length; "unknown" is honest, a stale
		// number is not.
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	resp.Body = &body{rc: resp.Body, resp: resp, p: t.p, host: req.URL.Host, limit: t.p.maxBody, declared: declared}
	return resp, nil
}

// redirectTarget returns where a redirect that http.Client would follow
// points, or nil.
func redirectTarget(req *http.Request, resp *http.Response) *url.URL {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil
	}
	to, err := req.URL.Parse(loc)
	if err != nil {
		return nil // http.Client reports the unusable Location itself
	}
	return to
}

func (p *policy) mayFollow(from, to *url.URL) bool {
	return sameOrigin(from, to) || (p.allow != nil && p.allow(from, to))
}

// checkRedirect is the client's CheckRedirect: the transport has already
// refused foreign redirects; this counts hops, checks again (in case a
// Location that the transport could not parse parses here), and strips
// credentials once the chain has left the first origin.
func (p *policy) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fmt.Errorf("stopped after %d redirects", MaxRedirects)
	}
	prev := via[len(via)-1].URL
	if !p.mayFollow(prev, req.URL) {
		status := 0
		if req.Response != nil {
			status = req.Response.StatusCode
		}
		return &RedirectError{Status: status, From: origin(prev), To: origin(req.URL)}
	}
	// net/http copies the first request's headers onto every hop, so once
	// any hop has left the first origin, every later hop is stripped too,
	// even one that comes back.
	first := via[0].URL
	left := !sameOrigin(first, req.URL)
	for _, r := range via[1:] {
		left = left || !sameOrigin(first, r.URL)
	}
	if left {
		p.stripCredentials(req.Header)
	}
	return nil
}

// credentialHeaders are the headers that carry keys in the APIs verdict
// knows (VirusTotal x-apikey, AbuseIPDB Key, Gemini x-goog-api-key,
// abuse.ch Auth-Key, GreyNoise key) and the generic ones. Referer goes too:
// it names the previous URL.
var credentialHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Cookie2": true,
	"X-Apikey": true, "X-Api-Key": true, "Api-Key": true, "Apikey": true, "Key": true,
	"X-Goog-Api-Key": true, "Auth-Key": true, "X-Auth-Token": true, "Referer": true,
}

func (p *policy) stripCredentials(h http.Header) {
	for k, vs := range h {
		drop := credentialHeaders[http.CanonicalHeaderKey(k)]
		for _, v := range vs {
			drop = drop || p.scrub.Contains(v)
		}
		if drop {
			delete(h, k)
		}
	}
}

// scrubHeader scrubs names and values in place.
func (p *policy) scrubHeader(h http.Header) {
	if p.scrub.Empty() {
		return
	}
	for k, vs := range h {
		for i, v := range vs {
			vs[i] = p.scrub.Scrub(v)
		}
		if nk := p.scrub.Scrub(k); nk != k {
			delete(h, k)
			h[nk] = append(h[nk], vs...)
		}
	}
}

// scrubError hides a secret in a transport error. The replacement keeps
// what callers test for (errors.Is with context errors, net.Error's
// Timeout) but not the original chain, which would print the secret again.
func (p *policy) scrubError(err error) error {
	if err == nil || !p.scrub.Contains(err.Error()) {
		return err
	}
	return &scrubbedError{msg: p.scrub.Scrub(err.Error()), orig: err}
}

type scrubbedError struct {
	msg  string
	orig error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is answers for the original error without exposing it.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.orig, target) }

// Timeout keeps net.Error's answer, which retry policies read.
func (e *scrubbedError) Timeout() bool {
	var ne net.Error
	return errors.As(e.orig, &ne) && ne.Timeout()
}

// Temporary is part of net.Error.
func (e *scrubbedError) Temporary() bool { return false }

// sameOrigin compares scheme, host (case-insensitively, ignoring a trailing
// dot) and port (the scheme's default when absent).
func sameOrigin(a, b *url.URL) bool {
	if !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	ha, hb := strings.TrimSuffix(a.Hostname(), "."), strings.TrimSuffix(b.Hostname(), ".")
	return strings.EqualFold(ha, hb) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// origin is scheme://host[:port], never userinfo, path or query.
func origin(u *url.URL) string {
	return (&url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host}).String()
}
