package dockerregistry

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// credEnv names the variable holding the credential of every test
// integration; each test gives it its own value through
// testsvc.EnvCredentials.
const credEnv = "REGISTRY_CREDENTIALS"

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

// newConnector builds the connector as the runtime does
// (connectortest.NewConnector), counting the requests it makes.
func newConnector(t *testing.T, s setup) (*Connector, *requestCounter) {
	t.Helper()
	counter := &requestCounter{}
	conn := connectortest.NewConnector(t, connectortest.Setup{
		Spec: Spec, URL: s.url, Config: s.config, EnvVar: credEnv, Secret: s.secret, NoRef: s.noRef, Metrics: counter,
	})
	return conn.(*Connector), counter
}

// basicSecret is a basic credential as a secret store returns it.
func basicSecret(user, password string) string {
	return `{"username":"` + user + `","password":"` + password + `"}`
}

// checkCode fails unless err carries want ("" = no error), and makes sure
// no error text ever holds one of secrets.
func checkCode(t *testing.T, err error, want resilience.Code, secrets ...string) {
	t.Helper()
	connectortest.CheckCode(t, err, want, secrets...)
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
