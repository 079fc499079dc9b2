package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

func TestSubjectMatches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		filter, subject string
		want            bool
	}{
		{"integration.health.changed.>", "integration.health.changed.t1.i1", true},
		{"integration.health.changed.>", "integration.health.changed", false},
		{"integration.health.changed.>", "integration.health.checked.t1.i1", false},
		{"integration.health.*.t1.i1", "integration.health.changed.t1.i1", true},
		{"integration.health.*", "integration.health.changed.t1", false},
		{"inthub.manager.integrations.get", "inthub.manager.integrations.get", true},
		{"inthub.manager.integrations.get", "inthub.manager.integrations.get.x", false},
		{"a.>.b", "a.x.b", false},
		{"a.*", "a.", false},
	}
	for _, tc := range cases {
		t.Run(tc.filter+" "+tc.subject, func(t *testing.T) {
			t.Parallel()
			if got := bus.SubjectMatches(tc.filter, tc.subject); got != tc.want {
				t.Errorf("SubjectMatches(%q, %q) = %v, want %v", tc.filter, tc.subject, got, tc.want)
			}
		})
	}
}

// TestProducerPublishesOnlyWhatItsRouteDeclares: a route's producer stores
// a declared subject and refuses any other with ErrUndeclared, before
// anything reaches the bus.
func TestProducerPublishesOnlyWhatItsRouteDeclares(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "producer")
	route := bus.Route{Name: "integration-test", Produces: []string{contracts.SubjectTestCompleted + ".>"}}
	cases := []struct {
		name    string
		route   bus.Route
		subject string
		wantErr bool
	}{
		{"declared", route, contracts.Subject(contracts.SubjectTestCompleted, "t1", "i1"), false},
		{"undeclared event", route, contracts.Subject(contracts.SubjectHealthChanged, "t1", "i1"), true},
		{"undeclared command", route, contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"), true},
		{"a route that declares nothing publishes nothing", bus.Route{Name: "cache"}, contracts.Subject(contracts.SubjectTestCompleted, "t1", "i1"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := b.Publisher().For(tc.route)
			ev := bus.Event{Subject: tc.subject, TenantID: "t1", Data: map[string]string{"k": "v"}}
			_, err := out.Publish(context.Background(), ev)
			_, aerr := out.PublishAsync(context.Background(), ev)
			for _, err := range []error{err, aerr} {
				if got := errors.Is(err, bus.ErrUndeclared); got != tc.wantErr {
					t.Errorf("publish %s: err = %v, want undeclared=%v", tc.subject, err, tc.wantErr)
				}
				if !tc.wantErr && err != nil {
					t.Errorf("publish %s: %v", tc.subject, err)
				}
			}
		})
	}
}

// TestHandlerProducerIsLimitedToItsRoute: the producer the router hands a
// handler refuses a subject the route does not declare.
func TestHandlerProducerIsLimitedToItsRoute(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "handler-producer")
	r, err := b.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 2)
	if err := r.Handle(bus.Route{Name: "tests", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "tests",
		Produces: []string{contracts.SubjectTestCompleted + ".>"},
		Handler: func(ctx context.Context, m *bus.Message, out *bus.Producer) error {
			_, declared := out.Publish(ctx, bus.Event{Subject: contracts.Subject(contracts.SubjectTestCompleted, "t1", "i1"), Data: struct{}{}})
			_, undeclared := out.Publish(ctx, bus.Event{Subject: contracts.Subject(contracts.SubjectHealthChanged, "t1", "i1"), Data: struct{}{}})
			results <- declared
			results <- undeclared
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, r)
	if _, err := b.Publisher().Publish(context.Background(), bus.Event{Subject: contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"),
		Data: contracts.TestRequested{RequestID: "r1", TenantID: "t1", IntegrationID: "i1"}}); err != nil {
		t.Fatal(err)
	}
	if err := <-results; err != nil {
		t.Errorf("declared subject: %v", err)
	}
	if err := <-results; !errors.Is(err, bus.ErrUndeclared) {
		t.Errorf("undeclared subject: err = %v, want ErrUndeclared", err)
	}
}
