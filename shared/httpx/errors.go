package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"

	"github.com/stella-ops/inthub/shared/resilience"
)

// describe names a request for a person: method, scheme, host and path, and
// never the query string, user info or headers, which may carry tokens.
func describe(req *http.Request, hidePath bool) string {
	if req == nil || req.URL == nil {
		return "HTTP request"
	}
	return req.Method + " " + target(req.URL, hidePath)
}

// target is scheme://host/path without query, fragment or user info.
func target(u *url.URL, hidePath bool) string {
	return u.Scheme + "://" + u.Host + safePath(u, hidePath)
}

// safePath is the path fit for errors, spans and logs.
func safePath(u *url.URL, hidePath bool) string {
	switch p := u.EscapedPath(); {
	case hidePath:
		return "/[path hidden]"
	case p == "":
		return "/"
	default:
		return p
	}
}

// classify maps a transport failure to a code and a short phrase. The
// phrase is ours; the original error stays as the cause for errors.Is/As.
func classify(err error) (resilience.Code, string) {
	var (
		dnsErr    *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		opErr     *net.OpError
		netErr    net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up (shutdown, superseded work); retrying later is
		// the right reaction, as for a timeout.
		return resilience.Timeout, "canceled before an answer"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return resilience.Timeout, "timed out"
	case errors.As(err, &dnsErr):
		switch {
		case dnsErr.IsTimeout:
			return resilience.Timeout, "DNS lookup of " + dnsErr.Name + " timed out"
		case dnsErr.IsNotFound:
			return resilience.ConnectionRefused, "host " + dnsErr.Name + " not found (DNS)"
		}
		return resilience.ConnectionRefused, "DNS lookup of " + dnsErr.Name + " failed"
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid):
		return resilience.ConnectionRefused, "TLS verification failed (set the CA certificate, or fix the server's certificate)"
	case errors.As(err, &recordErr):
		return resilience.ConnectionRefused, "TLS handshake failed: the server does not speak TLS on this port"
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return resilience.ConnectionRefused, "TLS handshake failed: the server refused it (client certificate?)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return resilience.ConnectionRefused, "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return resilience.ConnectionRefused, "no route to host"
	case errors.As(err, &netErr) && netErr.Timeout():
		return resilience.Timeout, "timed out"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return resilience.ConnectionRefused, "could not connect"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return resilience.UpstreamError, "connection closed by the remote"
	}
	return resilience.UpstreamError, "request failed"
}
