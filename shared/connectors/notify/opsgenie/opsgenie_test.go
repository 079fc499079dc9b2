package opsgenie

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/connectors/notify/opsgenie/opsgeniefake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const genieKey = "eb243592-faa2-4ba2-a551q-1afdf565c889"

type envSource map[string]string

func (e envSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	return testsvc.EnvCredentials(e).Resolve(ctx, raw)
}

func newConnector(t *testing.T, og *opsgeniefake.Server, extra map[string]any, env envSource) *Connector {
	t.Helper()
	cfg := map[string]any{"url": og.URL, "tags": []any{"inthub"}}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused by the spec: %v", err)
	}
	if env == nil {
		env = envSource{"OG_KEY": genieKey}
	}
	policy := httpx.GuardPolicy{AllowPrivate: true}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, cfg), policy, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := Spec.New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "og-1", TypeID: Spec.ID, Config: cfg, CredentialRef: "env://OG_KEY"},
		Credentials: env, HTTP: hc, Policy: policy,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Connector)
}

func wantCode(t *testing.T, what string, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("%s: code %q (err %v), want %s", what, got, err, want)
	}
}

func TestCreateThenCloseByAlias(t *testing.T) {
	t.Parallel()
	og := opsgeniefake.New(t, genieKey)
	c := newConnector(t, og, nil, nil)
	const alias = "acme:3f6c2d9e"
	long := strings.Repeat("é", 100) // 200 bytes, 100 runes: still one alert message
	id, err := c.Notify(context.Background(), connectors.Message{
		Severity: "critical", Title: "Registry prod is unhealthy " + long, Text: "connection refused",
		ThreadKey: alias, Data: map[string]any{"integrationId": "3f6c2d9e", notify.KeyTeamsCard: map[string]any{"x": 1}},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(id) != 36 {
		t.Errorf("provider message id %q, want the requestId", id)
	}
	a, ok := og.Alert(alias)
	if !ok || a.Status != "open" || a.Priority != "P1" || a.Details["integrationId"] != "3f6c2d9e" || a.Details[notify.KeyTeamsCard] != "" {
		t.Fatalf("alert %+v", a)
	}
	if len(a.Message) > 130 || !strings.HasPrefix(a.Message, "Registry prod") || len(a.Tags) != 1 {
		t.Errorf("message %q (%d bytes), tags %v", a.Message, len(a.Message), a.Tags)
	}
	// A repeat create with the same alias is one alert with a count of 2.
	if _, err := c.Notify(context.Background(), connectors.Message{Title: "again", ThreadKey: alias}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Notify(context.Background(), connectors.Message{Title: "recovered", ThreadKey: alias,
		Data: map[string]any{notify.KeyAction: notify.ActionResolve}}); err != nil {
		t.Fatalf("close: %v", err)
	}
	a, _ = og.Alert(alias)
	if a.Status != "closed" || a.Count != 2 || og.Calls("close") != 1 || og.Calls("create") != 2 {
		t.Errorf("alert %+v, closes %d, creates %d", a, og.Calls("close"), og.Calls("create"))
	}
}

func TestAnswersMapToCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		want       resilience.Code
		retryAfter time.Duration
	}{
		{"422", 422, nil, `{"message":"Request body is not processable. Please check the errors.","errors":{"message":"Message can not be empty."},"took":0.0,"requestId":"r"}`, resilience.InvalidConfig, 0},
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"2"}}, `{"message":"Rate limit exceeded"}`, resilience.RateLimited, 2 * time.Second},
		{"429 with the throttle period", 429, http.Header{"X-RateLimit-State": {"THROTTLED"}, "X-RateLimit-Period-In-Sec": {"60"}}, `{"message":"Rate limit exceeded"}`, resilience.RateLimited, time.Minute},
		{"403", 403, nil, `{"message":"You are not authorized"}`, resilience.PermissionDenied, 0},
		{"503", 503, nil, "", resilience.UpstreamError, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			og := opsgeniefake.New(t, genieKey)
			og.Force(tc.status, tc.header, tc.body)
			c := newConnector(t, og, nil, nil)
			_, err := c.Notify(context.Background(), connectors.Message{Title: "t", ThreadKey: "k"})
			wantCode(t, "notify", err, tc.want)
			if got := resilience.RetryAfterOf(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
			if tc.status == 422 && !strings.Contains(err.Error(), "Message can not be empty") {
				t.Errorf("422 lost OpsGenie's reason: %v", err)
			}
		})
	}
}

func TestFakeRejectsWhatOpsGenieRejects(t *testing.T) {
	t.Parallel()
	og := opsgeniefake.New(t, genieKey)
	c := newConnector(t, og, nil, nil)
	_, err := c.Notify(context.Background(), connectors.Message{Text: "   "})
	wantCode(t, "empty message", err, resilience.InvalidConfig)
	if og.Calls("create")+og.Calls("invalid") != 0 {
		t.Errorf("an alert without a message was sent")
	}
	wrong := newConnector(t, og, nil, envSource{"OG_KEY": "not-the-key"})
	_, err = wrong.Notify(context.Background(), connectors.Message{Title: "t"})
	wantCode(t, "wrong key", err, resilience.AuthenticationFailed)
	if strings.Contains(err.Error(), "not-the-key") {
		t.Errorf("error carries the key: %v", err)
	}
}

func TestChecksAndOnCall(t *testing.T) {
	t.Parallel()
	og := opsgeniefake.New(t, genieKey)
	og.AddSchedule(opsgeniefake.Schedule{ID: "d875alp4-9b4e-4219-a803-0c26936d18de", Name: "platform-oncall", OnCall: []string{"ana@example.com", "bo@example.com"}})
	c := newConnector(t, og, map[string]any{"schedule": "platform-oncall", "scheduleIdentifierType": "name"}, nil)
	for name, check := range map[string]func(context.Context) error{
		"connectivity": c.CheckConnectivity, "authentication": c.CheckAuthentication, "functionality": c.CheckFunctionality,
	} {
		if err := check(context.Background()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	page, err := c.Discover(context.Background(), connectors.DiscoveryQuery{ResourceType: ResourceOnCall, Filter: contracts.DiscoveryFilter{NamePattern: "ana*"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name != "ana@example.com" {
		t.Fatalf("on-call discovery: %+v %v", page, err)
	}
	who, err := c.OnCall(context.Background(), "d875alp4-9b4e-4219-a803-0c26936d18de", "id")
	if err != nil || len(who) != 2 {
		t.Fatalf("on-call by id: %v %v", who, err)
	}
	_, err = c.OnCall(context.Background(), "nobody", "name")
	wantCode(t, "unknown schedule", err, resilience.ResourceNotFound)

	t.Run("create-only key passes authentication, fails functionality", func(t *testing.T) {
		t.Parallel()
		ro := opsgeniefake.New(t, genieKey)
		ro.CreateOnly()
		c := newConnector(t, ro, nil, nil)
		if err := c.CheckAuthentication(context.Background()); err != nil {
			t.Errorf("authentication: %v", err)
		}
		wantCode(t, "functionality", c.CheckFunctionality(context.Background()), resilience.PermissionDenied)
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, og, nil, envSource{"OG_KEY": "wrong"})
		wantCode(t, "authentication", c.CheckAuthentication(context.Background()), resilience.AuthenticationFailed)
	})
	t.Run("no key", func(t *testing.T) {
		t.Parallel()
		c := newConnector(t, og, nil, envSource{})
		wantCode(t, "authentication", c.CheckAuthentication(context.Background()), resilience.CredentialFetchFailed)
	})
}

func TestPriorityMapping(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"critical": "P1", "error": "P2", "warning": "P3", "info": "P5", "other": "P3"} {
		if got := Priority(in); got != want {
			t.Errorf("Priority(%q) = %q, want %q", in, got, want)
		}
	}
}
