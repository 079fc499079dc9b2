package connectortest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Answer is what a server that is not the provider as the fake plays it
// (a web page, a login wall, a proxy error, nothing, a sign-in page)
// answers every request with, and the code a connector's health check at
// Level must return for it.
type Answer struct {
	Name   string
	Status int
	Header http.Header // sent as is; nil = none
	Body   string
	Level  contracts.CheckType // "" = contracts.CheckConnectivity
	Want   resilience.Code     // "" = the check passes
}

// CheckAnswers builds a connector of s against a server giving each answer
// in turn (s.URL is that server's) and checks the code its health check at
// the answer's level returns, each answer a parallel subtest; no error text
// may hold any of secrets.
func CheckAnswers(t *testing.T, s Setup, secrets []string, answers ...Answer) {
	t.Helper()
	for _, a := range answers {
		t.Run(a.Name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, vs := range a.Header {
					for _, v := range vs {
						w.Header().Add(k, v)
					}
				}
				w.WriteHeader(a.Status)
				if a.Body != "" {
					_, _ = w.Write([]byte(a.Body))
				}
			}))
			t.Cleanup(srv.Close)
			s := s
			s.URL = srv.URL
			c, ok := NewConnector(t, s).(connectors.Checker)
			if !ok {
				t.Fatalf("%s checks no health", s.Spec.ID)
			}
			l := a.Level
			if l == "" {
				l = contracts.CheckConnectivity
			}
			CheckCode(t, level(CallContext(t), c, l), a.Want, secrets...)
		})
	}
}

// CheckRetryAfter fails unless err is resilience.RateLimited with exactly
// the wait want the provider asked for; no error text may hold any of
// secrets.
func CheckRetryAfter(t testing.TB, err error, want time.Duration, secrets ...string) {
	t.Helper()
	CheckCode(t, err, resilience.RateLimited, secrets...)
	if d := resilience.RetryAfterOf(err); d != want {
		t.Fatalf("retry after %s, want %s", d, want)
	}
}

// ConfigCase is a config and whether the provider's spec accepts it.
type ConfigCase struct {
	Name   string
	Config map[string]any
	OK     bool
}

// CheckConfigs checks that spec.ValidateConfig accepts exactly the cases
// marked OK, each case a parallel subtest.
func CheckConfigs(t *testing.T, spec *connectors.Spec, cases ...ConfigCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			if err := spec.ValidateConfig(tc.Config); (err == nil) != tc.OK {
				t.Fatalf("ValidateConfig: %v, want ok=%v", err, tc.OK)
			}
		})
	}
}

// CheckRetried runs op under the hub's retry policy on a fake timer (see
// RetryCall) and fails unless it ends without error after exactly the
// waits want, the ones the provider asked for; no error text may hold any
// of secrets.
func CheckRetried(t testing.TB, op func(context.Context) error, want []time.Duration, secrets ...string) {
	t.Helper()
	timer, err := RetryCall(t, op)
	CheckCode(t, err, "", secrets...)
	if w := timer.Waits(); !slices.Equal(w, want) {
		t.Fatalf("waits %v, want exactly %v", w, want)
	}
}
