package runtime

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// countingSpec builds connectors that count builds and closes.
func countingSpec(built, closed *atomic.Int64) *connectors.Spec {
	return &connectors.Spec{
		ID: "counting", Category: connectors.CategoryRegistry,
		New: func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
			built.Add(1)
			if in.HTTP == nil || in.Credentials == nil {
				panic("instance without HTTP client or credentials")
			}
			return closer{closed}, nil
		},
	}
}

type closer struct{ n *atomic.Int64 }

func (c closer) Close() error { c.n.Add(1); return nil }

func TestPoolBuildsOncePerRevisionAndClosesOldOnes(t *testing.T) {
	t.Parallel()
	var built, closed atomic.Int64
	p := NewPool(connectors.NewRegistry(countingSpec(&built, &closed)), &credentials.Resolver{}, httpx.GuardPolicy{}, nil)
	it := contracts.Integration{ID: "i1", TenantID: "t1", TypeID: "counting", Revision: 1, Config: map[string]any{}}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := p.Get(ctx, it); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if built.Load()-closed.Load() != 1 || p.Len() != 1 {
		t.Fatalf("built %d closed %d live %d, want one live connector", built.Load(), closed.Load(), p.Len())
	}
	reused := built.Load()
	if _, _, err := p.Get(ctx, it); err != nil || built.Load() != reused {
		t.Fatalf("same revision rebuilt: %v", err)
	}
	it.Revision = 2
	if _, _, err := p.Get(ctx, it); err != nil {
		t.Fatal(err)
	}
	if built.Load() != reused+1 || closed.Load() != reused {
		t.Fatalf("new revision: built %d closed %d", built.Load(), closed.Load())
	}
	p.Remove("t1", "i1")
	if p.Len() != 0 || closed.Load() != built.Load() {
		t.Fatalf("remove: live %d, built %d closed %d", p.Len(), built.Load(), closed.Load())
	}
}

func TestPoolRefusesUnknownProviders(t *testing.T) {
	t.Parallel()
	p := NewPool(connectors.NewRegistry(), &credentials.Resolver{}, httpx.GuardPolicy{}, nil)
	if _, _, err := p.Get(context.Background(), contracts.Integration{ID: "i", TenantID: "t", TypeID: "nope"}); err == nil {
		t.Fatal("unknown provider built")
	}
}

// echoSpec builds connectors whose checks fail with the secret they resolved
// and whatever credential a server answered with, as a hostile endpoint's
// error would.
func echoSpec() *connectors.Spec {
	return &connectors.Spec{
		ID: "echo", Category: connectors.CategoryRegistry,
		New: func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
			return echoConn{in}, nil
		},
	}
}

type echoConn struct{ in connectors.Instance }

func (echoConn) Close() error { return nil }

func (c echoConn) CheckConnectivity(ctx context.Context) error {
	s, err := c.in.Credentials.Resolve(ctx, c.in.Integration.CredentialRef)
	if err != nil {
		return err
	}
	return resilience.New(resilience.AuthenticationFailed, "server said: bad password %s (Basic %s)",
		s["password"], base64.StdEncoding.EncodeToString([]byte(s["username"]+":"+s["password"])))
}

func (c echoConn) CheckAuthentication(context.Context) error { return nil }
func (c echoConn) CheckFunctionality(context.Context) error  { return nil }

func TestPoolConnectorsScrubTheSecretsTheyResolve(t *testing.T) {
	t.Parallel()
	const password = "pa ss/word"
	env := map[string]string{"INTHUB_SECRET_ECHO": `{"username":"bot","password":"` + password + `"}`}
	const tenant = "00000000-0000-4000-8000-0000000000e1"
	policy, err := credentials.ParseLocalPolicy(tenant+"=ECHO", "INTHUB_SECRET_", "/nonexistent") // INTHUB_SECRET_ECHO_*
	if err != nil {
		t.Fatal(err)
	}
	env = map[string]string{"INTHUB_SECRET_ECHO_A": env["INTHUB_SECRET_ECHO"]}
	resolver := &credentials.Resolver{Local: credentials.LocalResolver{Policy: policy, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}}
	p := NewPool(connectors.NewRegistry(echoSpec()), resolver, httpx.GuardPolicy{}, nil)
	t.Cleanup(p.Close)
	it := contracts.Integration{ID: "i1", TenantID: tenant, TypeID: "echo", Revision: 1, Config: map[string]any{}, CredentialRef: "env://INTHUB_SECRET_ECHO_A"}
	conn, _, err := p.Get(context.Background(), it)
	if err != nil {
		t.Fatal(err)
	}
	if _, isRaw := conn.(connectors.Checker); isRaw {
		t.Fatal("the pool handed out the unwrapped connector")
	}
	c, ok := connectors.AsChecker(conn)
	if !ok {
		t.Fatal("AsChecker found no checks")
	}
	err = c.CheckConnectivity(context.Background())
	if resilience.CodeOf(err) != resilience.AuthenticationFailed {
		t.Fatalf("code %s", resilience.CodeOf(err))
	}
	for _, leak := range []string{password, base64.StdEncoding.EncodeToString([]byte("bot:" + password))} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("secret form %q in %q", leak, err)
		}
	}
	if _, ok := connectors.AsDiscoverer(conn); ok {
		t.Fatal("AsDiscoverer invented a capability the connector lacks")
	}
}

// TestPoolBuildsNoClientForOwnTransportProviders: a provider that sends
// nothing through Instance.HTTP gets none (and its revisions replace and
// close cleanly without one); the others always get theirs.
func TestPoolBuildsNoClientForOwnTransportProviders(t *testing.T) {
	t.Parallel()
	var gotHTTP atomic.Bool
	own := &connectors.Spec{
		ID: "own", Category: connectors.CategoryRegistry, OwnTransport: true,
		New: func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
			gotHTTP.Store(in.HTTP != nil)
			return closer{new(atomic.Int64)}, nil
		},
	}
	var built, closed atomic.Int64
	p := NewPool(connectors.NewRegistry(own, countingSpec(&built, &closed)), &credentials.Resolver{}, httpx.GuardPolicy{}, nil)
	defer p.Close()
	for rev := uint64(1); rev <= 2; rev++ {
		it := contracts.Integration{ID: "i1", TenantID: "t1", TypeID: "own", Revision: rev, Config: map[string]any{}}
		if _, _, err := p.Get(context.Background(), it); err != nil {
			t.Fatal(err)
		}
		if gotHTTP.Load() {
			t.Fatal("an OwnTransport provider was handed an HTTP client")
		}
	}
	// Without a client its TLS settings are still refused as a client
	// would refuse them.
	bad := contracts.Integration{ID: "i3", TenantID: "t1", TypeID: "own", Revision: 1, Config: map[string]any{"caCert": "not a PEM"}}
	if _, _, err := p.Get(context.Background(), bad); resilience.CodeOf(err) != resilience.InvalidConfig {
		t.Fatalf("a CA that does not load: %v, want INVALID_CONFIG", err)
	}
	// countingSpec panics without a client.
	it := contracts.Integration{ID: "i2", TenantID: "t1", TypeID: "counting", Revision: 1, Config: map[string]any{}}
	if _, _, err := p.Get(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	p.Remove("t1", "i1")
	p.Remove("t1", "i2")
}
