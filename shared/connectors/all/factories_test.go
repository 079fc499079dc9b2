package all_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/connectors/specs"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
)

// TestEveryImplementationIsItsDeclarationWithAFactory: the full list holds,
// in the same order, the very declarations of the declarations list (same
// fields, not a copy that could drift) plus a factory.
func TestEveryImplementationIsItsDeclarationWithAFactory(t *testing.T) {
	t.Parallel()
	decls, impls := specs.List(), all.Specs()
	if len(decls) != len(impls) {
		t.Fatalf("%d declarations, %d implementations", len(decls), len(impls))
	}
	for i, d := range decls {
		im := impls[i]
		t.Run(d.ID, func(t *testing.T) {
			t.Parallel()
			if d.New != nil {
				t.Error("the declaration carries a factory: declarations must not import their implementation")
			}
			if im.New == nil || im.ID != d.ID || len(im.Fields) != len(d.Fields) || (len(d.Fields) > 0 && &im.Fields[0] != &d.Fields[0]) {
				t.Errorf("implementation %q is not declaration %q with a factory", im.ID, d.ID)
			}
		})
	}
}

// TestEveryFactoryBuildsFromItsExample builds every provider's connector
// from the example config its declaration documents. A connector that reads
// a config field its spec does not declare (or with the wrong getter)
// panics in connectors.Values: this is where that programming error shows.
func TestEveryFactoryBuildsFromItsExample(t *testing.T) {
	t.Parallel()
	for _, s := range all.Specs() {
		t.Run(s.ID, func(t *testing.T) {
			t.Parallel()
			if s.Example.Config == nil {
				t.Fatal("the declaration has no Example")
			}
			if err := buildWith(t, s, maps.Clone(s.Example.Config)); err != nil {
				t.Fatalf("example does not build: %v", err)
			}
		})
	}
}

// buildWith builds s's connector from cfg and the example's credential
// reference, with the client the runtime would give it, and closes it.
func buildWith(t *testing.T, s *connectors.Spec, cfg map[string]any) error {
	t.Helper()
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(s, cfg), httpx.GuardPolicy{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.CloseIdleConnections()
	conn, err := build(s, connectors.Instance{
		Integration: contracts.Integration{ID: "example", TenantID: echoTenant, TypeID: s.ID, Config: cfg, CredentialRef: s.Example.CredentialRef},
		Credentials: echoResolverSource{},
		HTTP:        hc,
	})
	if err != nil {
		return err
	}
	return conn.Close()
}

// build runs a factory and turns its panic into an error naming it.
func build(s *connectors.Spec, in connectors.Instance) (c connectors.Connector, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("factory panicked: %v", r)
		}
	}()
	return s.New(context.Background(), in)
}

// echoResolverSource resolves nothing: factories must not need a secret to
// be built (they resolve per call).
type echoResolverSource struct{}

func (echoResolverSource) Resolve(context.Context, string) (credentials.Secret, error) {
	return nil, fmt.Errorf("no secrets in this test")
}
