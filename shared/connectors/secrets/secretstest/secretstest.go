// Package secretstest runs the tests every secret-store connector shares
// (awssm, azurekv, gcpsm, vault): each provider's test gives its fake, a
// way to build its connector and its table of cases, and the runners here
// read, check, refuse and block the same way for all of them, naming the
// provider in every failure.
package secretstest

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// Store is a secret-store connector as the runners use it.
type Store interface {
	connectors.Checker
	ReadSecret(ctx context.Context, path string) (map[string]string, error)
	credentials.LeaseReader
}

// NoCredential as a case's Cred: no credential is stored under the
// integration's reference.
const NoCredential = "-"

// Setup is what one case asks of the provider's test connector.
type Setup[F any] struct {
	// Fake is the fake the connector talks to; the zero value: the
	// provider's own (Provider.Fake).
	Fake F
	// Prepare, if set, changes the fake before the connector is built.
	Prepare func(F)
	// Config is added to the config the provider's fake wants.
	Config map[string]any
	// Cred is the credential stored under the integration's reference;
	// "" the provider's working one, NoCredential none.
	Cred string
	// Env, for providers that read several variables (vault), is the
	// whole credential environment; nil: the provider's default.
	Env map[string]string
}

// Provider is one secret store under test.
type Provider[F comparable, C Store] struct {
	// Name is the provider, named in every failure.
	Name string
	// Fake is the fake a case without its own talks to.
	Fake F
	// Cred is the working credential a case with Cred "" is given.
	Cred string
	// Connect builds the connector of one case (Fake and Cred resolved).
	Connect func(t *testing.T, s Setup[F]) C
	// Secrets are the values no error text may hold.
	Secrets []string
	// ExactVersion: a read's version is asserted even where the case
	// wants none; otherwise an empty Version is not asserted.
	ExactVersion bool
}

// ReadCase is one read of a secret.
type ReadCase[F any] struct {
	Name string
	Setup[F]
	Path    string
	Want    map[string]string
	Version string
	Lease   time.Duration
	// Code is the error's code ("" none) and Cause, if set, what it wraps.
	Code  resilience.Code
	Cause error
}

// CheckCase is one health check.
type CheckCase[F any] struct {
	Name string
	Setup[F]
	Level contracts.CheckType
	Code  resilience.Code
	Cause error
}

func (p Provider[F, C]) connect(t *testing.T, s Setup[F]) C {
	t.Helper()
	var zero F
	if s.Fake == zero {
		s.Fake = p.Fake
	}
	switch s.Cred {
	case "":
		s.Cred = p.Cred
	case NoCredential:
		s.Cred = ""
	}
	return p.Connect(t, s)
}

// CheckErr fails unless err has code want ("" = no error) and, when cause
// is set, wraps it; no error text may hold one of the provider's secrets.
func (p Provider[F, C]) CheckErr(t testing.TB, err error, want resilience.Code, cause error) {
	t.Helper()
	CheckErr(t, p.Name, err, want, cause, p.Secrets...)
}

// CheckErr is Provider.CheckErr for a provider named name.
func CheckErr(t testing.TB, name string, err error, want resilience.Code, cause error, secrets ...string) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("%s: error %v has code %q, want %q", name, err, got, want)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("%s: error %v does not wrap %v", name, err, cause)
	}
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("%s: error text holds a secret: %v", name, err)
		}
	}
}

// RunReads reads each case's path, in parallel subtests.
func RunReads[F comparable, C Store](t *testing.T, p Provider[F, C], cases []ReadCase[F]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			c := p.connect(t, tc.Setup)
			got, err := c.ReadSecretLease(Context(t), tc.Path)
			p.CheckErr(t, err, tc.Code, tc.Cause)
			if tc.Code != "" {
				t.Log(err)
				return
			}
			version := got.Version
			if !p.ExactVersion && tc.Version == "" {
				version = ""
			}
			if !maps.Equal(got.Data, tc.Want) || got.Lease != tc.Lease || version != tc.Version {
				t.Fatalf("%s: read %v (lease %s, version %q), want %v (lease %s, version %q)",
					p.Name, got.Data, got.Lease, got.Version, tc.Want, tc.Lease, tc.Version)
			}
		})
	}
}

// RunChecks runs each case's health check, in parallel subtests.
func RunChecks[F comparable, C Store](t *testing.T, p Provider[F, C], cases []CheckCase[F]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			c := p.connect(t, tc.Setup)
			err := connectortest.Level(tc.Level, c)(Context(t))
			p.CheckErr(t, err, tc.Code, tc.Cause)
		})
	}
}

// ConfigCase is an integration New must refuse as INVALID_CONFIG.
type ConfigCase struct {
	Config map[string]any
	Ref    string
}

// RunConfigRefused checks that newConn refuses each case (by name) with
// INVALID_CONFIG.
func RunConfigRefused(t *testing.T, name string, newConn func(connectors.Instance) error, cases map[string]ConfigCase, secrets ...string) {
	t.Helper()
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			err := newConn(connectors.Instance{Integration: contracts.Integration{Config: tc.Config, CredentialRef: tc.Ref},
				HTTP: connectortest.HTTP(t, nil, nil)})
			CheckErr(t, name, err, resilience.InvalidConfig, nil, secrets...)
		})
	}
}

// CheckBlocked runs op as the hub does, with retries, and fails unless it
// ends DESTINATION_BLOCKED on the first try with a message that names want
// and the outbound policy.
func CheckBlocked(t *testing.T, name string, op func(context.Context) error, want string, secrets ...string) {
	t.Helper()
	calls := 0
	err := resilience.Do(Context(t), FastRetry, func(ctx context.Context) error {
		calls++
		return op(ctx)
	})
	CheckErr(t, name, err, resilience.DestinationBlocked, nil, secrets...)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "outbound policy") {
		t.Errorf("%s: error %q does not name %s and the outbound policy", name, err, want)
	}
	if calls != 1 {
		t.Errorf("%s: tried %d times, want 1 (a blocked destination is not retried)", name, calls)
	}
}

// FastRetry retries as the hub does, without the waits.
var FastRetry = resilience.Policy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3, Multiplier: 1}

// Context is the context of one call: it ends after 20 s or with the test.
func Context(t testing.TB) context.Context { return connectortest.CallContext(t) }

// Target is how a provider's test builds its connector.
type Target[C any] struct {
	Spec *connectors.Spec
	// ID is the integration's id; Env the variable its credential is
	// stored under (referenced as env://Env).
	ID, Env string
	New     func(connectors.Instance) (C, error)
}

// Typed adapts a provider's factory to Target.New: the connector it
// builds, as C.
func Typed[C any](f connectors.Factory) func(connectors.Instance) (C, error) {
	return func(in connectors.Instance) (C, error) {
		c, err := f(context.Background(), in)
		if err != nil {
			var zero C
			return zero, err
		}
		return c.(C), nil
	}
}

// Connect builds the target's connector over defaults with config added,
// under the outbound policy, with cred ("" none) stored under Env; it is
// closed with the test.
func Connect[C interface{ Close() error }](t *testing.T, tg Target[C], defaults, config map[string]any, policy httpx.GuardPolicy, cred string) C {
	t.Helper()
	cfg := maps.Clone(defaults)
	maps.Copy(cfg, config)
	if err := tg.Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(tg.Spec, cfg), policy, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	env := map[string]string{}
	if cred != "" {
		env[tg.Env] = cred
	}
	c, err := tg.New(connectors.Instance{
		Integration: contracts.Integration{ID: tg.ID, TenantID: "t", TypeID: tg.Spec.ID, Config: cfg, CredentialRef: "env://" + tg.Env},
		Credentials: testsvc.EnvCredentials(env), HTTP: hc,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
