package devstack_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/services/notifier"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// TestEndpointsAnswerAlike: the manager's and the notifier's request-reply
// endpoints go through one adapter, so a malformed request, an unknown
// tenant and a missing resource are answered in one shape by both: the
// same status and code headers, the code in the body, the same members.
func TestEndpointsAnswerAlike(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	managerReady, notifierReady := make(chan struct{}), make(chan struct{})
	done := make(chan error, 2)
	go func() {
		done <- manager.Run(ctx, manager.Config{Bus: natstest.Config(s, "manager"), Registry: all.Registry(), Logger: quiet, Ready: managerReady})
	}()
	go func() {
		done <- notifier.Run(ctx, notifier.Config{Bus: natstest.Config(s, "notifier"), Registry: all.Registry(), Logger: quiet, Ready: notifierReady})
	}()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("service: %v", err)
			}
		}
	})
	for _, ready := range []chan struct{}{managerReady, notifierReady} {
		select {
		case <-ready:
		case err := <-done:
			t.Fatalf("service ended: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("services not ready")
		}
	}
	nc := natstest.Open(t, s, "caller").Conn()
	const tenant, missing = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-0000000000aa"
	getOf := map[string]string{"manager": catalog.SubjectGet, "notifier": notifyrules.SubjectGet}
	cases := []struct {
		name, body string
		status     string
		// sameCode: both answer the same code (not-found codes name their
		// resource: INTEGRATION_NOT_FOUND, NOTIFICATION_RULE_NOT_FOUND).
		sameCode bool
		code     string
	}{
		{"malformed request", `{"tenantId":`, "400", true, apierr.MalformedJSON},
		{"unknown member", `{"tenantId":"` + tenant + `","id":"` + missing + `","surprise":1}`, "400", true, apierr.MalformedJSON},
		{"unknown tenant", `{"tenantId":"not-a-tenant","id":"` + missing + `"}`, "400", true, apierr.InvalidTenant},
		{"not found", `{"tenantId":"` + tenant + `","id":"` + missing + `"}`, "404", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type answer struct {
				status, code string
				body         map[string]any
			}
			got := map[string]answer{}
			for service, subject := range getOf {
				reply, err := nc.Request(subject, []byte(tc.body), 5*time.Second)
				if err != nil {
					t.Fatalf("%s: %v", service, err)
				}
				a := answer{status: reply.Header.Get(micro.ErrorCodeHeader), code: reply.Header.Get(micro.ErrorHeader)}
				if err := json.Unmarshal(reply.Data, &a.body); err != nil {
					t.Fatalf("%s: body %s: %v", service, reply.Data, err)
				}
				if a.status != tc.status || a.body["code"] != a.code || a.body["message"] == "" {
					t.Errorf("%s: status %q code %q body %s; want status %s and the code in the body", service, a.status, a.code, reply.Data, tc.status)
				}
				if tc.sameCode && a.code != tc.code {
					t.Errorf("%s: code %q, want %q", service, a.code, tc.code)
				}
				got[service] = a
			}
			m, n := got["manager"], got["notifier"]
			if keys := slices.Sorted(maps.Keys(m.body)); !slices.Equal(keys, slices.Sorted(maps.Keys(n.body))) {
				t.Errorf("members differ: manager %v, notifier %v", keys, slices.Sorted(maps.Keys(n.body)))
			}
			if tc.sameCode && m.body["message"] != n.body["message"] {
				t.Errorf("messages differ: manager %q, notifier %q", m.body["message"], n.body["message"])
			}
		})
	}
}
