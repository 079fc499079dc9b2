package healthscheduler_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/telemetry/metrictest"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// TestRealRegistryOutageAndRecovery runs the health-scheduler against a real
// Docker Registry (Debian's docker-registry with htpasswd auth): checks pass
// with real latencies, a wrong password is AUTHENTICATION_FAILED and never
// retried, a stopped registry is CONNECTION_REFUSED (retried with backoff)
// and turns the integration unhealthy with exactly one health.changed, and a
// restart turns it healthy with exactly one more.
func TestRealRegistryOutageAndRecovery(t *testing.T) {
	t.Parallel()
	reg := testsvc.StartRegistry(t, testsvc.RegistryOptions{Users: map[string]string{"ci": "right-password"}})
	e := newEnv(t)
	secrets := map[string]string{
		"INTHUB_SECRET_HS_REG_GOOD": `{"username":"ci","password":"right-password"}`,
		"INTHUB_SECRET_HS_REG_BAD":  `{"username":"ci","password":"wrong-password"}`,
	}
	local, err := credentials.ParseLocalPolicy(tenant+"=HS", "", "")
	if err != nil {
		t.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	cfg := fastConfig(connectors.NewRegistry(dockerregistry.Spec))
	cfg.Intervals = healthschedulerIntervals(250 * time.Millisecond)
	cfg.Metrics = metrics
	cfg.Policy = httpx.GuardPolicy{AllowPrivate: true}
	cfg.Retry = resilience.Policy{InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxAttempts: 3, Multiplier: 2, MaxElapsed: 2 * time.Second}
	cfg.Breaker = resilience.BreakerConfig{FailureThreshold: 5, SuccessThreshold: 3, OpenTimeout: 500 * time.Millisecond}
	cfg.Resolver = &credentials.Resolver{Local: credentials.LocalResolver{Policy: local, LookupEnv: func(k string) (string, bool) { v, ok := secrets[k]; return v, ok }}}
	e.start(cfg)

	integration := func(ref string) contracts.Integration {
		return e.put(contracts.Integration{ID: uuid.NewString(), TenantID: tenant, TypeID: "docker-registry", Name: ref,
			Config: map[string]any{"url": reg.URL}, CredentialRef: "env://INTHUB_SECRET_HS_" + ref})
	}
	good, bad := integration("REG_GOOD"), integration("REG_BAD")

	waitFor(t, "healthy", func() bool { return healthOf(t, e, good).Status == contracts.HealthHealthy })
	waitFor(t, "wrong password unhealthy", func() bool { return healthOf(t, e, bad).Status == contracts.HealthUnhealthy })
	h := healthOf(t, e, good)
	for _, ct := range contracts.CheckTypes {
		if r, ok := h.Checks[ct]; ok && (r.Status != contracts.HealthHealthy || r.LatencyMs < 0) {
			t.Fatalf("%s: %+v", ct, r)
		}
	}
	waitFor(t, "AUTHENTICATION_FAILED recorded for the wrong password", func() bool {
		for _, r := range healthOf(t, e, bad).Checks {
			if r.ErrorCode == string(resilience.AuthenticationFailed) {
				return true
			}
		}
		return false
	})
	if n := metrictest.Value(t, metrics, "inthub_health_check_retries_total", "code", string(resilience.AuthenticationFailed)); n != 0 {
		t.Fatalf("AUTHENTICATION_FAILED retried %v times", n)
	}

	reg.Stop(t)
	waitFor(t, "unhealthy after the registry stopped", func() bool { return healthOf(t, e, good).Status == contracts.HealthUnhealthy })
	if n := metrictest.Value(t, metrics, "inthub_health_check_retries_total", "code", string(resilience.ConnectionRefused)); n == 0 {
		t.Fatal("CONNECTION_REFUSED was not retried")
	}
	time.Sleep(time.Second) // stays down: no more transitions
	reg.Start(t)
	waitFor(t, "healthy after the restart", func() bool { return healthOf(t, e, good).Status == contracts.HealthHealthy })
	time.Sleep(time.Second)

	var mine []contracts.HealthChanged
	for _, c := range changes(t, e) {
		if c.IntegrationID == good.ID {
			mine = append(mine, c)
		}
	}
	want := [][2]contracts.HealthStatus{{"unknown", "healthy"}, {"healthy", "unhealthy"}, {"unhealthy", "healthy"}}
	if len(mine) != len(want) {
		t.Fatalf("%d health.changed events for the registry, want %d: %+v", len(mine), len(want), mine)
	}
	for i, w := range want {
		if mine[i].Previous != w[0] || mine[i].Current != w[1] {
			t.Fatalf("change %d: %s -> %s, want %s -> %s", i, mine[i].Previous, mine[i].Current, w[0], w[1])
		}
	}
	if mine[1].ErrorCode != string(resilience.ConnectionRefused) && mine[1].ErrorCode != string(resilience.IntegrationUnhealthy) {
		t.Fatalf("outage reported with code %q", mine[1].ErrorCode)
	}
}

func healthschedulerIntervals(d time.Duration) healthscheduler.Intervals {
	return healthscheduler.Intervals{Connectivity: d, Authentication: d, Functionality: d}
}
