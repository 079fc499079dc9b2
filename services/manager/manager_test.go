package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors/specs"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/natstest"
)

const (
	tenantA = "0193a0b4-0000-7000-8000-00000000000a"
	tenantB = "0193a0b4-0000-7000-8000-00000000000b"
)

// startManager runs the manager on an embedded JetStream and returns a
// client and a JetStream context for inspecting streams.
func startManager(t *testing.T) (*catalog.Client, jetstream.JetStream) {
	t.Helper()
	s := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- manager.Run(ctx, manager.Config{
			Bus: natstest.Config(s, "manager"), Registry: specs.Registry(), LocalPolicy: testPolicy(t),
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})), Ready: ready,
		})
	}()
	select {
	case <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
		})
	case err := <-done:
		cancel()
		t.Fatalf("manager did not start: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("manager did not start")
	}
	nc, js := natstest.Connect(t, s)
	return catalog.NewClient(nc, 20*time.Second), js
}

// testPolicy grants tenant A the local secrets of name A and tenant B those
// of name B (INTHUB_SECRET_A_*, /run/secrets/inthub/a/, ...).
func testPolicy(t *testing.T) credentials.LocalPolicy {
	t.Helper()
	p, err := credentials.ParseLocalPolicy(tenantA+"=A,"+tenantB+"=B", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func input(name string) contracts.IntegrationInput {
	return contracts.IntegrationInput{
		TypeID: "webhook", Name: name,
		Config:        map[string]any{"url": "https://hooks.example.com/inthub", "signingSecretRef": "env://INTHUB_SECRET_A_WEBHOOK"},
		CredentialRef: "file:///run/secrets/inthub/a/hooks.json#token",
		Labels:        map[string]string{"environment": "production"},
	}
}

// events reads INTHUB_EVENTS from its first message, as a replaying
// subscriber would.
func events(t *testing.T, js jetstream.JetStream) []jetstream.Msg {
	t.Helper()
	return natstest.ReadStream(t, js, bus.StreamEvents)
}

func TestEachChangeProducesExactlyOneReplayableLifecycleEvent(t *testing.T) {
	t.Parallel()
	cl, js := startManager(t)
	ctx := context.Background()

	created, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("Prod hooks")})
	if err != nil {
		t.Fatal(err)
	}
	if created.HealthStatus != contracts.HealthUnknown || created.Revision == 0 || created.TenantID != tenantA {
		t.Fatalf("created %+v", created)
	}
	if _, err := cl.Get(ctx, catalog.GetRequest{TenantID: tenantA, ID: created.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA}); err != nil {
		t.Fatal(err)
	}
	in := input("Prod hooks v2")
	replaced, err := cl.Replace(ctx, catalog.ReplaceRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	patched, err := cl.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: created.ID, IfMatch: replaced.Revision, Patch: json.RawMessage(`{"labels":{"team":"release"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if patched.Labels["team"] != "release" || patched.Labels["environment"] != "production" {
		t.Fatalf("merge patch lost labels: %v", patched.Labels)
	}
	if _, err := cl.Delete(ctx, catalog.DeleteRequest{TenantID: tenantA, ID: created.ID, IfMatch: patched.Revision}); err != nil {
		t.Fatal(err)
	}

	got := events(t, js)
	want := []struct {
		subject  string
		revision uint64
	}{
		{contracts.Subject(contracts.SubjectCreated, tenantA, created.ID), created.Revision},
		{contracts.Subject(contracts.SubjectUpdated, tenantA, created.ID), replaced.Revision},
		{contracts.Subject(contracts.SubjectUpdated, tenantA, created.ID), patched.Revision},
		{contracts.Subject(contracts.SubjectDeleted, tenantA, created.ID), patched.Revision},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d (reads must publish nothing)", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Subject() != w.subject {
			t.Errorf("event %d subject %s, want %s", i, got[i].Subject(), w.subject)
		}
		var ev contracts.LifecycleEvent
		if err := json.Unmarshal(got[i].Data(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Integration.Revision != w.revision || ev.TenantID != tenantA || ev.Integration.ID != created.ID {
			t.Errorf("event %d body %+v", i, ev)
		}
		if got[i].Headers().Get("Nats-Msg-Id") != ev.EventID || got[i].Headers().Get("ce-id") != ev.EventID {
			t.Errorf("event %d: Nats-Msg-Id/ce-id not the event id", i)
		}
	}
}

func TestOptimisticConcurrency(t *testing.T) {
	t.Parallel()
	cl, _ := startManager(t)
	ctx := context.Background()
	created, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Replace(ctx, catalog.ReplaceRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision, Input: input("b")}); err != nil {
		t.Fatal(err)
	}
	// A writer holding the old revision loses, on every verb.
	_, errReplace := cl.Replace(ctx, catalog.ReplaceRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision, Input: input("c")})
	_, errPatch := cl.Patch(ctx, catalog.PatchRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision, Patch: json.RawMessage(`{"name":"d"}`)})
	_, errDelete := cl.Delete(ctx, catalog.DeleteRequest{TenantID: tenantA, ID: created.ID, IfMatch: created.Revision})
	for name, err := range map[string]error{"replace": errReplace, "patch": errPatch, "delete": errDelete} {
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Status != 412 || ae.Code != apierr.PreconditionFailed {
			t.Errorf("%s with stale revision: %v", name, err)
		}
	}
	got, err := cl.Get(ctx, catalog.GetRequest{TenantID: tenantA, ID: created.ID})
	if err != nil || got.Name != "b" {
		t.Fatalf("store changed by a stale write: %+v %v", got, err)
	}
}

func TestTenantsAreIsolatedOnTheBus(t *testing.T) {
	t.Parallel()
	cl, _ := startManager(t)
	ctx := context.Background()
	it, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: input("a")})
	if err != nil {
		t.Fatal(err)
	}
	list, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantB})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("tenant B lists %d items (%v)", len(list.Items), err)
	}
	_, errGet := cl.Get(ctx, catalog.GetRequest{TenantID: tenantB, ID: it.ID})
	_, errPut := cl.Replace(ctx, catalog.ReplaceRequest{TenantID: tenantB, ID: it.ID, Input: input("x")})
	_, errDel := cl.Delete(ctx, catalog.DeleteRequest{TenantID: tenantB, ID: it.ID})
	for name, err := range map[string]error{"get": errGet, "replace": errPut, "delete": errDel} {
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Status != 404 {
			t.Errorf("%s across tenants: %v", name, err)
		}
	}
	for _, bad := range []string{"", "*", "a.b", tenantA + ".>"} {
		if _, err := cl.List(ctx, catalog.ListRequest{TenantID: bad}); err == nil {
			t.Errorf("tenant id %q accepted", bad)
		}
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	cl, _ := startManager(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 7; i++ {
		in := input("hook")
		if i%2 == 0 {
			in.Labels = map[string]string{"environment": "staging", "tier": "web"}
		}
		if i == 6 {
			in = contracts.IntegrationInput{TypeID: "inmemory", Name: "mem", Config: map[string]any{}}
		}
		it, err := cl.Create(ctx, catalog.CreateRequest{TenantID: tenantA, Input: in})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	tests := []struct {
		name  string
		query contracts.ListQuery
		want  int
	}{
		{"all", contracts.ListQuery{}, 7},
		{"by type", contracts.ListQuery{TypeID: "webhook"}, 6},
		{"by category", contracts.ListQuery{Category: "registry"}, 1},
		{"by label", contracts.ListQuery{LabelSelector: "environment=staging"}, 3},
		{"by label inequality", contracts.ListQuery{LabelSelector: "environment!=staging,environment"}, 3},
		{"by label existence", contracts.ListQuery{LabelSelector: "!tier"}, 4},
		{"by health", contracts.ListQuery{HealthStatus: "unknown"}, 7},
		{"by health none", contracts.ListQuery{HealthStatus: "healthy"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA, Query: tc.query})
			if err != nil || len(got.Items) != tc.want {
				t.Fatalf("got %d items (%v), want %d", len(got.Items), err, tc.want)
			}
		})
	}
	// Pages of 3 visit every item once, in creation order.
	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		got, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA, Query: contracts.ListQuery{Limit: 3, Cursor: cursor}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range got.Items {
			seen = append(seen, it.ID)
		}
		if cursor = got.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != len(ids) {
		t.Fatalf("paging saw %d items, want %d", len(seen), len(ids))
	}
	for i := range ids {
		if seen[i] != ids[i] {
			t.Fatalf("page order %v, want %v", seen, ids)
		}
	}
	bad := []contracts.ListQuery{{Cursor: "!!"}, {Limit: 501}, {LabelSelector: "a b=c"}, {HealthStatus: "fine"}, {Category: "x"}, {TypeID: "nope"}}
	for _, q := range bad {
		var ae *apierr.Error
		if _, err := cl.List(ctx, catalog.ListRequest{TenantID: tenantA, Query: q}); !errors.As(err, &ae) || ae.Status != 400 {
			t.Errorf("query %+v: %v", q, err)
		}
	}
}

func TestTextThatCannotRoundTripIsRefused(t *testing.T) {
	t.Parallel()
	c, js := startManager(t)
	nc := js.Conn()
	// Raw request bodies, as any bus client may send them: encoding/json
	// would turn the invalid byte into U+FFFD on the way in and store that.
	raw := func(name, description string) json.RawMessage {
		return json.RawMessage(`{"tenantId":"` + tenantA + `","input":{"typeId":"webhook","name":"` + name +
			`","description":"` + description + `","config":{"url":"https://hooks.example.com/inthub"}}}`)
	}
	tests := []struct {
		name  string
		body  json.RawMessage
		field string // "" : accepted
	}{
		{"plain", raw("Release hooks", "hooks of the train\\nsecond line"), ""},
		{"right-to-left script and emoji", raw("خطافات الإصدار \U0001F469\u200D\U0001F4BB", ""), ""},
		{"invalid UTF-8 in the name", raw("prod\xff", ""), "name"},
		{"unpaired surrogate escape in the name", raw("prod\\ud800", ""), "name"},
		{"bidi override in the name", raw("invoice\u202egpj.exe", ""), "name"},
		{"bidi override escaped in the name", raw("invoice\\u202egpj", ""), "name"},
		{"isolate in the name", raw("a\u2066b", ""), "name"},
		{"zero-width space in the name", raw("pro\u200bd", ""), "name"},
		{"invalid UTF-8 in the description", raw("ok", "bad\xfe"), "description"},
		{"bidi mark in the description", raw("ok", "a\u200fb"), "description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out contracts.Integration
			err := bus.Request(context.Background(), nc, "catalog", catalog.SubjectCreate, 10*time.Second, tc.body, &out)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != apierr.InvalidFieldValue || ae.Details["field"] != tc.field {
				t.Fatalf("got %v (%+v), want 400 INVALID_FIELD_VALUE on %s", err, ae, tc.field)
			}
		})
	}
	// A rename through a merge patch is checked the same way.
	it, err := c.Create(context.Background(), catalog.CreateRequest{TenantID: tenantA, Input: input("patch me")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Patch(context.Background(), catalog.PatchRequest{TenantID: tenantA, ID: it.ID, Patch: json.RawMessage(`{"name":"a\u202eb"}`)})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.InvalidFieldValue || ae.Details["field"] != "name" {
		t.Fatalf("patch: %v", err)
	}
}
