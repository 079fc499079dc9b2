package discoveryworker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify/webhook"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/discoveryfilter"
	"github.com/stella-ops/inthub/shared/natstest"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/telemetry/metrictest"
)

// pagedSpec is a provider whose pages of 50 resources carry a bulky
// attribute (so a page of the API cannot hold 1000 of them), and which
// counts its calls. Config "total" sets how many resources it has; "loop"
// makes it hand out the same cursor forever.
func pagedSpec(calls *atomic.Int64) *connectors.Spec {
	s := &connectors.Spec{
		ID: "pagedfake", Name: "Paged fake", Category: connectors.CategoryRegistry,
		Fields: []connectors.Field{
			{Name: "total", Type: connectors.TypeInt, Min: 0, Max: 100000},
			{Name: "loop", Type: connectors.TypeBool},
			{Name: "versions", Type: connectors.TypeBool},
		},
		ResourceTypes: []string{"repositories"}, Capabilities: []connectors.Capability{connectors.CapDiscover},
	}
	s.New = func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
		cfg := connectors.NewValues(s, in.Integration.Config)
		return &pagedConn{calls: calls, total: cfg.Int("total"), loop: cfg.Bool("loop"), versions: cfg.Bool("versions")}, nil
	}
	return s
}

type pagedConn struct {
	calls *atomic.Int64
	total int
	loop  bool
	// versions names resource i a semantic version out of order
	// ("<i*7%10>.<i*11%17>.<i>", unique by its patch), without the bulky
	// attribute.
	versions bool
}

func (c *pagedConn) Close() error { return nil }

func (c *pagedConn) Discover(_ context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	c.calls.Add(1)
	if c.loop {
		return connectors.DiscoveryPage{Items: []contracts.Resource{{Type: q.ResourceType, Name: "same"}}, NextCursor: "again"}, nil
	}
	start, _ := strconv.Atoi(q.Cursor)
	end := min(start+50, c.total)
	page := connectors.DiscoveryPage{}
	for i := start; i < end; i++ {
		if c.versions {
			page.Items = append(page.Items, contracts.Resource{Type: q.ResourceType, Name: fmt.Sprintf("%d.%d.%d", i*7%10, i*11%17, i)})
			continue
		}
		page.Items = append(page.Items, contracts.Resource{Type: q.ResourceType, Name: fmt.Sprintf("repo-%05d", i),
			Attributes: map[string]any{"description": strings.Repeat("x", 8<<10)}})
	}
	if end < c.total {
		page.NextCursor = strconv.Itoa(end)
	}
	return page, nil
}

func TestErrorsCarryTheirCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	retry := resilience.Policy{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxAttempts: 3,
		Multiplier: 2, MaxElapsed: 2 * time.Second, MaxRetryAfter: 500 * time.Millisecond}
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(inmemory.Spec, webhook.Spec), Retry: retry,
		Timeout: 500 * time.Millisecond})
	mem := func(cfg map[string]any) contracts.Integration {
		return e.put(contracts.Integration{TypeID: inmemory.Spec.ID, Config: cfg})
	}
	ok := mem(map[string]any{"repositories": []any{"a", "b"}, "tags": []any{"v1"}})
	hook := e.put(contracts.Integration{TypeID: webhook.Spec.ID, Config: map[string]any{"url": "https://hooks.example.com/x"}})
	repositories := contracts.DiscoveryRequest{ResourceType: "repositories"}
	supported := func(want ...string) func(*testing.T, contracts.ErrorBody) {
		return func(t *testing.T, b contracts.ErrorBody) {
			got := fmt.Sprint(b.Details["supportedResourceTypes"])
			if got != fmt.Sprint(want) {
				t.Fatalf("supportedResourceTypes %s, want %v", got, want)
			}
		}
	}
	tests := []struct {
		name  string
		it    contracts.Integration
		req   contracts.DiscoveryRequest
		code  string
		check func(*testing.T, contracts.ErrorBody)
	}{
		{"unsupported resource type", ok, contracts.DiscoveryRequest{ResourceType: "pipelines"}, "UNSUPPORTED_RESOURCE_TYPE", supported("repositories", "tags")},
		{"provider without discovery", hook, repositories, "UNSUPPORTED_RESOURCE_TYPE", func(t *testing.T, b contracts.ErrorBody) {
			supported()(t, b)
			if !strings.Contains(b.Message, "does not support discovery") {
				t.Fatalf("message %q", b.Message)
			}
		}},
		{"rate limited longer than the policy waits", mem(map[string]any{"failureMode": "rate-limited", "retryAfterSeconds": float64(2)}), repositories, "RATE_LIMITED",
			func(t *testing.T, b contracts.ErrorBody) {
				if fmt.Sprint(b.Details["retryAfterSeconds"]) != "2" {
					t.Fatalf("details %v", b.Details)
				}
			}},
		{"timeout", mem(map[string]any{"failureMode": "timeout"}), repositories, "TIMEOUT", nil},
		{"authentication failed", mem(map[string]any{"failureMode": "auth-failed"}), repositories, "AUTHENTICATION_FAILED", nil},
		{"connection refused", mem(map[string]any{"failureMode": "connection-refused"}), repositories, "CONNECTION_REFUSED", nil},
		{"integration not found", contracts.Integration{TenantID: tenant, ID: uuid.NewString()}, repositories, "INTEGRATION_NOT_FOUND", nil},
		{"tags without a repository", ok, contracts.DiscoveryRequest{ResourceType: "tags"}, "INVALID_CONFIG", nil},
		{"unknown repository", ok, contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Repository: "zzz"}}, "RESOURCE_NOT_FOUND", nil},
		{"limit over 1000", ok, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 1001}, "VALIDATION_FAILED", nil},
		{"negative limit", ok, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: -1}, "VALIDATION_FAILED", nil},
		{"bad glob", ok, contracts.DiscoveryRequest{ResourceType: "repositories", Filter: contracts.DiscoveryFilter{NamePattern: "app-["}}, "VALIDATION_FAILED", nil},
		{"bad ignore regex", ok, contracts.DiscoveryRequest{ResourceType: "repositories", Filter: contracts.DiscoveryFilter{Ignore: []string{"ok", "(x"}}}, "VALIDATION_FAILED",
			func(t *testing.T, b contracts.ErrorBody) {
				if b.Details["field"] != "filter.ignore[1]" {
					t.Fatalf("details %v", b.Details)
				}
			}},
		{"bad semver constraint", ok, contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Repository: "team/app", Semver: "~banana"}}, "VALIDATION_FAILED", nil},
		{"bad resource type name", ok, contracts.DiscoveryRequest{ResourceType: "repos itories"}, "VALIDATION_FAILED", nil},
		{"cursor it did not issue", ok, contracts.DiscoveryRequest{ResourceType: "repositories", Cursor: "garbage"}, "INVALID_CURSOR", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := errorOf(t, e.discover(tc.it, tc.req), tc.code)
			if b.Message == "" {
				t.Fatal("no message")
			}
			if tc.check != nil {
				tc.check(t, b)
			}
		})
	}
	t.Run("a cursor of another query is refused", func(t *testing.T) {
		t.Parallel()
		res := result(t, e.discover(ok, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 1}))
		if res.NextCursor == "" {
			t.Fatal("no cursor")
		}
		other := contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 1, Cursor: res.NextCursor, Filter: contracts.DiscoveryFilter{NamePattern: "*"}}
		errorOf(t, e.discover(ok, other), "INVALID_CURSOR")
	})
}

// TestDiscoveryRetriesAsTheIntegrationSays: the code decides whether a
// provider call is retried, the integration's "retries" field how often:
// retries+1 attempts, its declared default (3) when unset.
func TestDiscoveryRetriesAsTheIntegrationSays(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	retry := resilience.Policy{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, MaxAttempts: 3,
		Multiplier: 2, MaxElapsed: 2 * time.Second, MaxRetryAfter: 500 * time.Millisecond}
	metrics := e.start(discoveryworker.Config{Registry: connectors.NewRegistry(inmemory.Spec), Retry: retry, Timeout: 2 * time.Second})
	repositories := contracts.DiscoveryRequest{ResourceType: "repositories"}
	cases := []struct {
		name, mode, code string
		config           map[string]any
		calls            float64
	}{
		{name: "AUTHENTICATION_FAILED is never retried", mode: "auth-failed", code: "AUTHENTICATION_FAILED", calls: 1},
		{name: "retries 0 tries CONNECTION_REFUSED once", mode: "connection-refused", code: "CONNECTION_REFUSED", config: map[string]any{"retries": float64(0)}, calls: 1},
		{name: "retries 2 tries CONNECTION_REFUSED three times", mode: "connection-refused", code: "CONNECTION_REFUSED", config: map[string]any{"retries": float64(2)}, calls: 3},
		{name: "unset tries CONNECTION_REFUSED four times", mode: "connection-refused", code: "CONNECTION_REFUSED", calls: 4},
	}
	// One at a time: the call count is read from the service's metric.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"failureMode": tc.mode}
			for k, v := range tc.config {
				cfg[k] = v
			}
			it := e.put(contracts.Integration{TypeID: inmemory.Spec.ID, Config: cfg})
			before := metrictest.Value(t, metrics, "inthub_discovery_provider_call_duration_seconds", "outcome", tc.code)
			errorOf(t, e.discover(it, repositories), tc.code)
			if n := metrictest.Value(t, metrics, "inthub_discovery_provider_call_duration_seconds", "outcome", tc.code) - before; n != tc.calls {
				t.Errorf("%s called the provider %v times, want %v", tc.code, n, tc.calls)
			}
		})
	}
}

// TestLargeResultsPageWithinABusMessage: a result of 4.8 MB is walked once,
// cached, and delivered in pages that each fit a bus message; the cursors
// cover it exactly. Uncached (TTL 0), a page walks only as far as it needs.
func TestLargeResultsPageWithinABusMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var calls atomic.Int64
	// The walk encodes what it streams into the cache (4.8 MB here), which
	// under -race takes longer than the environment's 3 s walk timeout.
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(pagedSpec(&calls)), Timeout: 15 * time.Second})
	it := e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"total": float64(600)}})
	var all []string
	cursor := ""
	pages := 0
	for {
		res := result(t, e.discover(it, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 1000, Cursor: cursor}))
		pages++
		if len(res.Items) == 0 || len(res.Items) >= 600 {
			t.Fatalf("page %d holds %d items", pages, len(res.Items))
		}
		all = append(all, names(res.Items)...)
		if cursor = res.NextCursor; cursor == "" {
			break
		}
		if !res.CacheHit && pages > 1 {
			t.Fatalf("page %d was not read from the cache", pages)
		}
	}
	want := make([]string, 600)
	for i := range want {
		want[i] = fmt.Sprintf("repo-%05d", i)
	}
	if !slices.Equal(all, want) || pages < 5 {
		t.Fatalf("%d names in %d pages", len(all), pages)
	}
	if calls.Load() != 12 {
		t.Fatalf("%d provider calls, want 12 (600 resources in pages of 50, walked once)", calls.Load())
	}

	uncached := e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"total": float64(600), cache.ConfigField: float64(0)}})
	calls.Store(0)
	res := result(t, e.discover(uncached, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 10}))
	if len(res.Items) != 10 || res.NextCursor == "" || res.CacheHit || calls.Load() != 1 {
		t.Fatalf("uncached first page: %d items, next %q, %d provider calls", len(res.Items), res.NextCursor, calls.Load())
	}
	res = result(t, e.discover(uncached, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 10, Cursor: res.NextCursor}))
	if names(res.Items)[0] != "repo-00010" || calls.Load() != 2 {
		t.Fatalf("uncached second page starts at %s after %d calls", names(res.Items)[0], calls.Load())
	}

	looping := e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"loop": true}})
	errorOf(t, e.discover(looping, contracts.DiscoveryRequest{ResourceType: "repositories"}), "UPSTREAM_ERROR")
}

// TestOrderedPagesOfALargeResult pages a result of 2,600 versions in the
// orders of the filter, 300 a page: the worker never sorts the result but
// streams it into the cache and picks each page in one bounded pass
// (keyset cursor), so the pages together must be exactly the sorted
// result, each item once, and every page after the first a cache hit.
func TestOrderedPagesOfALargeResult(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var calls atomic.Int64
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(pagedSpec(&calls))})
	const total = 2600
	it := e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"total": float64(total), "versions": true}})
	var all []contracts.Resource
	for i := range total {
		all = append(all, contracts.Resource{Type: "repositories", Name: fmt.Sprintf("%d.%d.%d", i*7%10, i*11%17, i)})
	}
	tests := []struct {
		name   string
		filter contracts.DiscoveryFilter
	}{
		{"semver, newest first", contracts.DiscoveryFilter{OrderBy: discoveryfilter.OrderBySemver, Order: "desc"}},
		{"semver ascending within a constraint", contracts.DiscoveryFilter{OrderBy: discoveryfilter.OrderBySemver, Order: "asc", Semver: ">=3.0.0 <7.0.0"}},
		{"name, descending", contracts.DiscoveryFilter{OrderBy: discoveryfilter.OrderByName, Order: "desc"}},
		{"name, an allow list", contracts.DiscoveryFilter{OrderBy: discoveryfilter.OrderByName, Allow: []string{`^[0-4]\.`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := discoveryfilter.Parse(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, r := range all {
				if f.Keep(r.Name) {
					want = append(want, r.Name)
				}
			}
			sorted := make([]contracts.Resource, len(want))
			for i, n := range want {
				sorted[i] = contracts.Resource{Name: n}
			}
			f.Sort(sorted)
			want = names(sorted)
			var got []string
			cursor, pages := "", 0
			for {
				res := result(t, e.discover(it, contracts.DiscoveryRequest{ResourceType: "repositories", Filter: tc.filter, Limit: 300, Cursor: cursor}))
				pages++
				if pages > 1 && !res.CacheHit {
					t.Fatalf("page %d was not read from the cache", pages)
				}
				got = append(got, names(res.Items)...)
				if cursor = res.NextCursor; cursor == "" {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%d names in %d pages, want %d; first %v, want %v", len(got), pages, len(want), got[:min(5, len(got))], want[:min(5, len(want))])
			}
		})
	}
}

// TestLifecycleEventsEmptyTheCache: integration.updated and .deleted
// empty the in-process cache too; a stale cursor is refused after a refresh.
func TestLifecycleEventsEmptyTheCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	metrics := e.start(discoveryworker.Config{Registry: connectors.NewRegistry(inmemory.Spec)})
	it := e.put(contracts.Integration{TypeID: inmemory.Spec.ID, Config: map[string]any{"repositories": []any{"a", "b", "c"}}})
	req := contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 2}
	first := result(t, e.discover(it, req))
	if res := result(t, e.discover(it, req)); !res.CacheHit {
		t.Fatal("second call missed")
	}
	// A refresh replaces the result a cursor pointed into.
	refresh := req
	refresh.Refresh = true
	if res := result(t, e.discover(it, refresh)); res.CacheHit {
		t.Fatal("refresh hit")
	}
	stale := req
	stale.Cursor = first.NextCursor
	b := errorOf(t, e.discover(it, stale), "INVALID_CURSOR")
	if b.Details["reason"] != "expired" {
		t.Fatalf("stale cursor: %+v", b)
	}

	// The announcement alone empties the cache: same revision, no KV change.
	e.announce(contracts.SubjectUpdated, it)
	waitFor(t, "the update's invalidation", func() bool {
		return metrictest.Value(t, metrics, "inthub_discovery_cache_invalidations_total", "event", "updated") == 1
	})
	if res := result(t, e.discover(it, req)); res.CacheHit {
		t.Fatal("hit after integration.updated")
	}
	e.announce(contracts.SubjectDeleted, it)
	waitFor(t, "the delete's invalidation", func() bool {
		return metrictest.Value(t, metrics, "inthub_discovery_cache_invalidations_total", "event", "deleted") == 1
	})
	if res := result(t, e.discover(it, req)); res.CacheHit {
		t.Fatal("hit after integration.deleted")
	}
	// Deleted from the catalog: not found.
	if err := e.kv.Delete(context.Background(), it.TenantID+"."+it.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the view to drop it", func() bool {
		done, err := e.tryDiscover(it, req)
		return err == nil && done.Error != nil && done.Error.Code == "INTEGRATION_NOT_FOUND"
	})
}

// TestCommandForAnotherTenantIsDeadLettered: the body's tenant must be the
// subject's, or the command is refused without an answer.
func TestCommandForAnotherTenantIsDeadLettered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(inmemory.Spec)})
	it := e.put(contracts.Integration{TypeID: inmemory.Spec.ID, Config: map[string]any{"repositories": []any{"a"}}})
	_, err := e.bus.Publisher().Publish(context.Background(), bus.Event{
		Subject: contracts.Subject(contracts.SubjectDiscoveryRequested, "0193a0b4-0000-7000-8000-0000000000ff", it.ID),
		Data: contracts.DiscoveryRequested{RequestID: "r1", TenantID: it.TenantID, IntegrationID: it.ID,
			Request: contracts.DiscoveryRequest{ResourceType: "repositories"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead letter", func() bool {
		st, err := e.js.Stream(context.Background(), bus.StreamDLQ)
		if err != nil {
			return false
		}
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(bus.DLQPrefix+".>"))
		return err == nil && info.State.Msgs == 1
	})
}

// TestCompletionsAreTheBytesJSONMarshalWrites: the worker encodes its
// answers itself (discovery.EncodeCompleted, without reflection over the
// items); what it publishes, a page or an error, must be exactly what
// json.Marshal writes for the same completion.
func TestCompletionsAreTheBytesJSONMarshalWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var calls atomic.Int64
	e.start(discoveryworker.Config{Registry: connectors.NewRegistry(pagedSpec(&calls))})
	sub := natstest.SubscribeSync(t, e.nc, contracts.SubjectDiscoveryCompleted+".>")
	for _, it := range []contracts.Integration{
		e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"total": float64(3)}}),
		e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"total": float64(120), "versions": true}}),
		e.put(contracts.Integration{TypeID: "pagedfake", Config: map[string]any{"loop": true}}),
	} {
		done := e.discover(it, contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 100})
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(done)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg.Data, want) {
			t.Fatalf("published %.200s\njson.Marshal %.200s", msg.Data, want)
		}
	}
}
