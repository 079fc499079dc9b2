package dockerregistry

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
const credRef = "env://REGISTRY_CREDENTIALS"

// setup is one test integration.
type setup struct {
	url    string
	config map[string]any // beyond url
	secret string         // value of REGISTRY_CREDENTIALS; "" = unset
	noRef  bool           // no credentialRef at all: anonymous
}

// requestCounter is an httpx.Metrics counting requests that got an answer.
type requestCounter struct{ n atomic.Int64 }

func (r *requestCounter) ObserveRequest(_, _ string, _ time.Duration) { r.n.Add(1) }

// newConnector builds the connector as the runtime does: config validated
// against the spec, a guarded client allowing loopback, env credentials.
func newConnector(t *testing.T, s setup) (*Connector, *requestCounter) {
	t.Helper()
	cfg := map[string]any{"url": s.url, "timeout": float64(10)}
	maps.Copy(cfg, s.config)
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	counter := &requestCounter{}
	opts := connectors.HTTPOptions(cfg, httpx.GuardPolicy{AllowPrivate: true}, nil)
	opts.Metrics = counter
	hc, err := httpx.New(opts)
	if err != nil {
		t.Fatalf("httpx.New: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	env := map[string]string{}
	if s.secret != "" {
		env["REGISTRY_CREDENTIALS"] = s.secret
	}
	in := connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TenantID: "tenant-1", TypeID: ProviderID, Config: cfg},
		Credentials: testsvc.EnvCredentials(env),
		HTTP:        hc,
	}
	if !s.noRef {
		in.Integration.CredentialRef = credRef
	}
	conn, err := Spec.New(context.Background(), in)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn.(*Connector), counter
}

// basicSecret is a basic credential as a secret store returns it.
func basicSecret(user, password string) string {
	return `{"username":"` + user + `","password":"` + password + `"}`
}

// checkCode fails unless err carries want ("" = no error), and makes sure
// no error text ever holds a secret.
func checkCode(t *testing.T, err error, want resilience.Code, secrets ...string) {
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

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
func discoverAll(t *testing.T, c *Connector, q connectors.DiscoveryQuery) (discovered, error) {
	t.Helper()
	var d discovered
	for range 200 {
		page, err := c.Discover(ctxT(t), q)
		if err != nil {
			return d, err
		}
		d.pageSizes = append(d.pageSizes, len(page.Items))
		for _, r := range page.Items {
			d.names = append(d.names, r.Name)
			d.resources = append(d.resources, r)
		}
		if page.NextCursor == "" {
			slices.Sort(d.names)
			return d, nil
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("discovery of %s did not end after 200 pages", q.ResourceType)
	return d, nil
}

// fakeClock is a settable clock for the token cache.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
