package healthscheduler_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// refusingSpec is a provider whose connectivity check always fails with a
// retryable CONNECTION_REFUSED and counts its calls per integration.
func refusingSpec(calls *callCount) *connectors.Spec {
	return &connectors.Spec{
		ID: "refusing", Category: connectors.CategoryRegistry, CheckLevels: []contracts.CheckType{contracts.CheckConnectivity},
		New: func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
			return refuser{id: in.Integration.ID, calls: calls}, nil
		},
	}
}

type callCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCount) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[id]++
}

func (c *callCount) of(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

type refuser struct {
	id    string
	calls *callCount
}

func (r refuser) Close() error { return nil }
func (r refuser) CheckConnectivity(context.Context) error {
	r.calls.add(r.id)
	return resilience.New(resilience.ConnectionRefused, "refused")
}
func (r refuser) CheckAuthentication(context.Context) error { return nil }
func (r refuser) CheckFunctionality(context.Context) error  { return nil }

// TestScheduledCheckRetriesAsTheIntegrationSays: an integration's "retries"
// field bounds the retries of a retryable error in its scheduled checks:
// retries+1 attempts, the declared default when it is not set.
func TestScheduledCheckRetriesAsTheIntegrationSays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	calls := &callCount{n: map[string]int{}}
	cfg := fastConfig(connectors.NewRegistry(refusingSpec(calls)))
	cfg.DisableSchedule = true // only the checks this test asks for
	e.start(cfg)
	pub := bus.NewPublisher(e.js, "test")
	cases := []struct {
		name    string
		config  map[string]any
		attempt int
	}{
		{name: "retries 0 tries once", config: map[string]any{"retries": float64(0)}, attempt: 1},
		{name: "retries 2 tries three times", config: map[string]any{"retries": float64(2)}, attempt: 3},
		{name: "unset takes the declared default of 3", config: map[string]any{}, attempt: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			it := e.put(contracts.Integration{ID: uuid.NewString(), TenantID: tenant, TypeID: "refusing", Name: tc.name, Config: tc.config})
			if _, err := pub.Publish(context.Background(), bus.Event{
				ID:      it.ID + ":connectivity:1",
				Subject: contracts.Subject(contracts.SubjectHealthCheckRequest, tenant, it.ID), TenantID: tenant,
				Data: contracts.HealthCheckRequested{TenantID: tenant, IntegrationID: it.ID, CheckType: contracts.CheckConnectivity, Slot: 1},
			}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the check's result", func() bool {
				for _, m := range e.events(contracts.SubjectHealthChecked) {
					if strings.HasSuffix(m.Subject(), "."+it.ID) {
						return true
					}
				}
				return false
			})
			if got := calls.of(it.ID); got != tc.attempt {
				t.Errorf("the provider was called %d times, want %d", got, tc.attempt)
			}
		})
	}
}
