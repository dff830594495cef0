package ratelimit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/verdict-dev/verdict/pkg/safehttp"
)

// ClassifyNetwork reads the transport-level part of an error, the part
// every HTTP source shares; source-specific classifiers handle their own
// typed errors (a 429, a rejected key) first and fall back on it:
//
//   - a body over the client's size limit is Answered: the server will
//     send the same body again, so a retry only costs quota;
//   - a failure to resolve, connect or negotiate TLS is Unreachable;
//   - a timeout, a reset or cut connection is Transient;
//   - anything else is Answered (a final failure of this request).
func ClassifyNetwork(err error) Outcome {
	switch {
	case err == nil, errors.Is(err, safehttp.ErrBodyTooLarge):
		return Outcome{Kind: Answered}
	case IsUnreachable(err):
		return Outcome{Kind: Unreachable}
	case IsTransient(err):
		return Outcome{Kind: Transient}
	}
	return Outcome{Kind: Answered}
}

// IsUnreachable reports whether err means the request never reached the
// server: the name did not resolve, nothing listened (connection refused,
// no route), the dial timed out, or TLS could not be set up (a certificate
// that does not verify, a server that does not speak TLS, a handshake
// alert). Such a request cost the server nothing, so it costs no quota.
func IsUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		echErr  *tls.ECHRejectionError
		authErr x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invErr  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dnsErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL),
		errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &echErr),
		errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invErr),
		errors.Is(err, http.ErrSchemeMismatch): // plain HTTP where TLS was expected
		return true
	case errors.As(err, &opErr):
		// "dial" covers every failure to connect (a dial timeout too);
		// "proxyconnect" the same towards a configured proxy; "remote
		// error" is a TLS alert from the server during the handshake.
		switch opErr.Op {
		case "dial", "proxyconnect", "remote error":
			return true
		}
	}
	return false
}

// IsTransient reports whether err is a failure that sending again may
// cure: a timeout (the client's own, not the caller's cancelled context), a
// connection reset or cut short, an answer that ended early.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
