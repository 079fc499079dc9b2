package githubactions

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

// credRef is the reference every test integration holds; each test gives
// it its own value through testsvc.EnvCredentials.
const credRef = "env://GITHUB_TOKEN"

// setup is one test integration.
type setup struct {
	spec   *connectors.Spec
	url    string
	config map[string]any // beyond url
	secret string         // value of GITHUB_TOKEN; "" = unset
	noRef  bool           // no credentialRef at all
}

// newConn builds a connector as the runtime does: config validated against
// the spec, a guarded client allowing loopback, env credentials.
func newConn(t *testing.T, s setup) connectors.Connector {
	t.Helper()
	cfg := map[string]any{"url": s.url, "timeout": float64(10)}
	maps.Copy(cfg, s.config)
	if err := s.spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	hc, err := httpx.New(connectors.HTTPOptions(cfg, httpx.GuardPolicy{AllowPrivate: true}, nil))
	if err != nil {
		t.Fatalf("httpx.New: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	env := map[string]string{}
	if s.secret != "" {
		env["GITHUB_TOKEN"] = s.secret
	}
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: s.spec.ID, Config: cfg},
		Credentials: testsvc.EnvCredentials(env),
		HTTP:        hc,
	}
	if !s.noRef {
		in.Integration.CredentialRef = credRef
	}
	conn, err := s.spec.New(context.Background(), in)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// newConnector builds a connector for the fake's repository, its clock set
// to the fake's so reset times give exact waits.
func newConnector(t *testing.T, f *fakeGitHub, s setup) *Connector {
	s.spec, s.url = Spec, f.srv.URL
	cfg := map[string]any{"owner": fakeOwner, "repo": fakeRepo}
	maps.Copy(cfg, s.config)
	s.config = cfg
	c := newConn(t, s).(*Connector)
	c.now = func() time.Time { return f.now }
	return c
}

// allSecrets are the values no error text may hold.
var allSecrets = []string{userToken, installToken, otherToken, readToken, wrongToken}

// checkCode fails unless err carries want ("" = no error), and makes sure
// no error text ever holds a secret.
func checkCode(t *testing.T, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("error %v has code %q, want %q", err, got, want)
	}
	if err == nil {
		return
	}
	for _, s := range allSecrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error text holds a secret: %v", err)
		}
	}
	var coded *resilience.Error
	if !errors.As(err, &coded) {
		t.Fatalf("error %v carries no resilience code", err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// discovered is what discoverAll read.
type discovered struct {
	names     []string
	resources []contracts.Resource
	pageSizes []int
}

// discoverAll follows cursors to the end of a listing.
func discoverAll(t *testing.T, d connectors.Discoverer, q connectors.DiscoveryQuery) (discovered, error) {
	t.Helper()
	var out discovered
	for range 100 {
		page, err := d.Discover(ctxT(t), q)
		if err != nil {
			return out, err
		}
		out.pageSizes = append(out.pageSizes, len(page.Items))
		for _, r := range page.Items {
			out.names = append(out.names, r.Name)
			out.resources = append(out.resources, r)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("discovery of %s did not end after 100 pages", q.ResourceType)
	return out, nil
}

// fakeTimer is a backoff.Timer that fires at once and records each wait,
// so a retry loop runs without sleeping.
type fakeTimer struct {
	mu    sync.Mutex
	waits []time.Duration
	c     chan time.Time
}

func newFakeTimer() *fakeTimer { return &fakeTimer{c: make(chan time.Time, 1)} }

func (t *fakeTimer) Start(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waits = append(t.waits, d)
	select {
	case t.c <- time.Time{}:
	default:
	}
}

func (t *fakeTimer) Stop()               {}
func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Waits() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Duration(nil), t.waits...)
}

// retry runs op under the hub's retry policy on a fake timer.
func retry(t *testing.T, op func(context.Context) error) (*fakeTimer, error) {
	t.Helper()
	timer := newFakeTimer()
	return timer, resilience.Do(ctxT(t), resilience.DefaultPolicy(), op, resilience.WithTimer(timer))
}
