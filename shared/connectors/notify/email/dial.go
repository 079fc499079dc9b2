package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"syscall"

	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// dial connects to host:port through the guard; with implicit TLS it also
// completes the handshake.
func (c *Connector) dial(ctx context.Context) (net.Conn, error) {
	addr := net.JoinHostPort(c.host, fmt.Sprint(c.port))
	// httpx's guarded dialer: the policy judges every address actually
	// connected to, after DNS, and a refusal is DESTINATION_BLOCKED.
	conn, err := httpx.NewDialer(c.policy, c.timeout)(ctx, "tcp", addr)
	if err != nil {
		return nil, c.classify("connect to", err)
	}
	if c.security != SecurityTLS {
		return conn, nil
	}
	tc := tls.Client(conn, c.tlsConfig)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, c.classify("TLS handshake with", err)
	}
	return tc, nil
}

// classify gives an SMTP or network error its code. The message names the
// server and the step, never a credential.
func (c *Connector) classify(step string, err error) error {
	var coded *resilience.Error
	if errors.As(err, &coded) {
		return err
	}
	where := fmt.Sprintf("%s %s:%d", step, c.host, c.port)
	var proto *textproto.Error
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var tlsRecord tls.RecordHeaderError
	switch {
	case errors.As(err, &proto):
		return smtpError(where, proto)
	case errors.As(err, &dns):
		if dns.IsTimeout {
			return resilience.Wrap(resilience.Timeout, err, "%s: DNS lookup timed out", where)
		}
		return resilience.Wrap(resilience.ConnectionRefused, err, "%s: host not found", where)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &tlsRecord):
		return resilience.Wrap(resilience.ConnectionRefused, err, "%s: TLS verification failed", where)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return &resilience.Error{Code: resilience.Timeout, Message: where + ": no answer within " + c.timeout.String(), Err: context.DeadlineExceeded}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return resilience.Wrap(resilience.ConnectionRefused, err, "%s", where)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		return resilience.Wrap(resilience.UpstreamError, err, "%s: connection closed by the server", where)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return resilience.Wrap(resilience.ConnectionRefused, err, "%s", where)
	}
	return resilience.Wrap(resilience.UpstreamError, err, "%s", where)
}

// smtpError maps a reply code (and its enhanced status code, RFC 3463):
// authentication replies (530, 534, 535, 538, X.7.8, X.7.9) are
// AUTHENTICATION_FAILED; a refused relay (X.7.1) PERMISSION_DENIED; other
// 4xx are transient (UPSTREAM_ERROR, retried); other 5xx permanent
// (INVALID_CONFIG: an address or the message is refused).
func smtpError(where string, e *textproto.Error) error {
	msg := strings.ReplaceAll(e.Msg, "\n", " ")
	if len(msg) > 200 {
		msg = msg[:200]
	}
	enhanced, _, _ := strings.Cut(msg, " ")
	text := fmt.Sprintf("%s: SMTP %d %s", where, e.Code, msg)
	switch {
	case e.Code == 530 || e.Code == 534 || e.Code == 535 || e.Code == 538,
		strings.HasSuffix(enhanced, ".7.8"), strings.HasSuffix(enhanced, ".7.9"):
		return resilience.New(resilience.AuthenticationFailed, "%s", text)
	case strings.HasSuffix(enhanced, ".7.1"):
		return resilience.New(resilience.PermissionDenied, "%s", text)
	case e.Code >= 400 && e.Code < 500:
		return resilience.New(resilience.UpstreamError, "%s", text)
	}
	return resilience.New(resilience.InvalidConfig, "%s", text)
}
