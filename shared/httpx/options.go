package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/resilience"
)

// Defaults applied by New to zero fields, kept here so specs can show them.
const (
	// DefaultTimeout bounds a whole request (connect, redirects, headers, body).
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRedirects is enough for registry token and blob redirects.
	DefaultMaxRedirects = 5
	// DefaultUserAgent identifies the hub to providers that ask for it.
	DefaultUserAgent = "stella-ops-inthub"
)

// Options are one integration's HTTP settings plus the operator's policy.
type Options struct {
	// Timeout bounds each request end to end; 0 means DefaultTimeout.
	Timeout time.Duration
	// InsecureSkipVerify turns off certificate verification, for lab
	// installations the operator chose to trust blindly.
	InsecureSkipVerify bool
	// CACertPEM adds a private CA to the system roots (on-premises servers).
	CACertPEM []byte
	// ClientCertPEM and ClientKeyPEM, given together, are presented for mTLS.
	ClientCertPEM, ClientKeyPEM []byte
	// MaxRedirects caps redirects followed; 0 means DefaultMaxRedirects and a
	// negative value returns the 3xx response itself.
	MaxRedirects int
	// UserAgent is sent when a request sets none; "" means DefaultUserAgent.
	UserAgent string
	// Policy is the operator's exception list to the destination guard.
	Policy GuardPolicy
	// HidePath keeps the URL path out of errors, spans and logs (metrics
	// never carry it), for providers whose path is a credential (Slack and
	// Discord webhooks, Telegram's /bot<token>/).
	HidePath bool
	// OnCredential, when set, is told every credential the client actually
	// sends (credential header values, the value after their scheme,
	// credential query values, a hidden path), so the caller can scrub
	// them, derived tokens included, from whatever the server echoes.
	OnCredential func(value string)
	// Scrub, when set, removes known secret values from an error body
	// before the snippet's pattern-based redaction and cutting, which could
	// otherwise split a secret and leave part of it readable.
	Scrub func(text string) string

	// RateLimit caps the requests per second sent (every hop counts, with a
	// burst of RateBurst, or one second's worth when RateBurst is 0), and
	// MaxConcurrent the exchanges in flight at once (until the response
	// body is read or closed); 0 leaves either unlimited. A request waits
	// for its turn within its context. Whatever their values, a response
	// whose remaining-quota header says 0 with a known reset makes the
	// next requests fail fast as RATE_LIMITED until then.
	RateLimit     float64
	RateBurst     int
	MaxConcurrent int

	// Logger, when set, gets one debug line per request (method, host, path,
	// status, duration: never headers, query strings or bodies).
	Logger *slog.Logger
	// Metrics, when set, observes every request; see NewPrometheusMetrics.
	Metrics Metrics
	// TracerProvider defaults to otel.GetTracerProvider() at request time;
	// tests set it to record spans without touching the global.
	TracerProvider trace.TracerProvider
	// Propagator defaults to otel.GetTextMapPropagator() at request time.
	Propagator propagation.TextMapPropagator
}

// Metrics observes one HTTP exchange: host is host[:port], code the status
// code ("200") or, when there was no response, the resilience code.
type Metrics interface {
	ObserveRequest(host, code string, duration time.Duration)
}

// withDefaults fills zero fields and rejects settings that cannot work, so a
// bad integration fails when it is configured rather than on first use.
func (o Options) withDefaults() (Options, error) {
	if o.Timeout < 0 {
		return o, resilience.New(resilience.InvalidConfig, "timeout %s is negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RateLimit < 0 || o.RateBurst < 0 || o.MaxConcurrent < 0 {
		return o, resilience.New(resilience.InvalidConfig, "request limits must not be negative")
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	cidrs := make([]netip.Prefix, 0, len(o.Policy.AllowCIDRs))
	for _, p := range o.Policy.AllowCIDRs {
		if !p.IsValid() {
			return o, resilience.New(resilience.InvalidConfig, "allowed CIDR %v is not valid", p)
		}
		cidrs = append(cidrs, normalizePrefix(p).Masked())
	}
	o.Policy.AllowCIDRs = cidrs // a copy: the caller's slice is not ours to change
	return o, nil
}

// tlsConfig builds the integration's TLS settings.
func (o Options) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The operator's explicit, per-integration choice.
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec
	}
	if len(o.CACertPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(o.CACertPEM) {
			return nil, resilience.New(resilience.InvalidConfig, "CA certificate: no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	switch hasCert, hasKey := len(o.ClientCertPEM) > 0, len(o.ClientKeyPEM) > 0; {
	case hasCert && hasKey:
		pair, err := tls.X509KeyPair(o.ClientCertPEM, o.ClientKeyPEM)
		if err != nil {
			// tls errors describe the PEM's shape, never its content.
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "client certificate")
		}
		cfg.Certificates = []tls.Certificate{pair}
	case hasCert || hasKey:
		return nil, resilience.New(resilience.InvalidConfig, "client certificate and key must be given together")
	}
	return cfg, nil
}
