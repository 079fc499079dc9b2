// Package connectortest holds the helpers every connector's tests share:
// building a connector as the runtime does, checking error codes, walking
// discovery pages and retrying on a timer that does not sleep.
package connectortest

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// Setup is one test integration.
type Setup struct {
	Spec    *connectors.Spec
	URL     string
	Config  map[string]any // beyond url
	EnvVar  string         // the credential's variable; CredentialRef is env://EnvVar
	Secret  string         // value of EnvVar; "" = unset
	NoRef   bool           // no credentialRef at all
	Metrics httpx.Metrics  // optional; observes the client's requests
}

// NewConnector builds a connector as the runtime does: config validated
// against the spec, a guarded client allowing loopback, env credentials.
// The client and the connector are closed at the test's end.
func NewConnector(t testing.TB, s Setup) connectors.Connector {
	t.Helper()
	cfg := map[string]any{"url": s.URL, "timeout": float64(10)}
	maps.Copy(cfg, s.Config)
	if err := s.Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	hc := HTTP(t, cfg, s.Metrics)
	env := map[string]string{}
	if s.Secret != "" {
		env[s.EnvVar] = s.Secret
	}
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: s.Spec.ID, Config: cfg},
		Credentials: testsvc.EnvCredentials(env),
		HTTP:        hc,
	}
	if !s.NoRef {
		in.Integration.CredentialRef = "env://" + s.EnvVar
	}
	conn, err := s.Spec.New(context.Background(), in)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// HTTP is the guarded client the runtime would build for cfg (nil: the
// defaults), allowing loopback for test servers; metrics may be nil. It is
// the one way tests hand a connector its client: factories refuse to build
// without one. Its idle connections are closed at the test's end.
func HTTP(t testing.TB, cfg map[string]any, metrics httpx.Metrics) *httpx.Client {
	t.Helper()
	opts := connectors.HTTPOptions(connectors.CommonValues(cfg), httpx.GuardPolicy{AllowPrivate: true}, nil)
	opts.Metrics = metrics
	hc, err := httpx.New(opts)
	if err != nil {
		t.Fatalf("httpx.New: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// CheckCode fails unless err carries want ("" = no error), and makes sure
// no error text holds any of secrets.
func CheckCode(t testing.TB, err error, want resilience.Code, secrets ...string) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error text holds a secret: %v", err)
		}
	}
	var coded *resilience.Error
	if !errors.As(err, &coded) {
		t.Fatalf("error %v carries no resilience code", err)
	}
}

// Context is a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// CallTimeout is how long one connector call of a test may take.
const CallTimeout = 20 * time.Second

// CallContext is the context a connector test's call runs under: it ends
// after CallTimeout or with the test.
func CallContext(t testing.TB) context.Context { return Context(t, CallTimeout) }

// DiscoverEverything follows cursors to the end of a listing, each page
// under CallContext, and fails the test after 100 pages.
func DiscoverEverything(t testing.TB, d connectors.Discoverer, q connectors.DiscoveryQuery) (Discovered, error) {
	t.Helper()
	return DiscoverAll(t, func() context.Context { return CallContext(t) }, d, q, 100)
}

// RetryCall runs op under the hub's retry policy on a fake timer, within
// CallContext.
func RetryCall(t testing.TB, op func(context.Context) error) (*Timer, error) {
	t.Helper()
	return Retry(CallContext(t), op)
}

// Discovered is what DiscoverAll read.
type Discovered struct {
	Names     []string
	Resources []contracts.Resource
	PageSizes []int
}

// DiscoverAll follows cursors to the end of a listing, each page under
// ctx(), and fails the test after maxPages pages.
func DiscoverAll(t testing.TB, ctx func() context.Context, d connectors.Discoverer, q connectors.DiscoveryQuery, maxPages int) (Discovered, error) {
	t.Helper()
	var out Discovered
	for range maxPages {
		page, err := d.Discover(ctx(), q)
		if err != nil {
			return out, err
		}
		out.PageSizes = append(out.PageSizes, len(page.Items))
		for _, r := range page.Items {
			out.Names = append(out.Names, r.Name)
			out.Resources = append(out.Resources, r)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("discovery of %s did not end after %d pages", q.ResourceType, maxPages)
	return out, nil
}

// Timer is a backoff.Timer that fires at once and records each wait,
// so a retry loop runs without sleeping.
type Timer struct {
	mu    sync.Mutex
	waits []time.Duration
	c     chan time.Time
}

// NewTimer returns a Timer that has waited for nothing yet.
func NewTimer() *Timer { return &Timer{c: make(chan time.Time, 1)} }

// Start records d and fires at once.
func (t *Timer) Start(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waits = append(t.waits, d)
	select {
	case t.c <- time.Time{}:
	default:
	}
}

// Stop does nothing: the timer has already fired.
func (t *Timer) Stop() {}

// C is the channel Start fires on.
func (t *Timer) C() <-chan time.Time { return t.c }

// Waits returns the waits started so far.
func (t *Timer) Waits() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.waits...)
}

// Retry runs op under the hub's retry policy on a fake timer.
func Retry(ctx context.Context, op func(context.Context) error) (*Timer, error) {
	timer := NewTimer()
	return timer, resilience.Do(ctx, resilience.DefaultPolicy(), op, resilience.WithTimer(timer))
}
