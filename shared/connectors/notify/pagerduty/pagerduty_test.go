package pagerduty

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/connectors/notify/pagerduty/pagerdutyfake"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const (
	routingKey = "R0123456789abcdef0123456789abcde"
	restKey    = "y_NbAkKc66ryYTWUXYEu"
)

// envSource resolves env:// references from a map, never the process's
// environment, so parallel tests do not interfere.
type envSource map[string]string

func (e envSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	return testsvc.EnvCredentials(e).Resolve(ctx, raw)
}

type setup struct {
	config        map[string]any
	credentialRef string
	env           envSource
	policy        *httpx.GuardPolicy
}

func defaults(pd *pagerdutyfake.Server) setup {
	return setup{
		config: map[string]any{"routingKeyRef": "env://PD_ROUTING_KEY", "eventsUrl": pd.URL, "apiUrl": pd.URL},
		env:    envSource{"PD_ROUTING_KEY": routingKey, "PD_API_KEY": restKey},
	}
}

func newConnector(t *testing.T, s setup) *Connector {
	t.Helper()
	if err := Spec.ValidateConfig(s.config); err != nil {
		t.Fatalf("config refused by the spec: %v", err)
	}
	policy := httpx.GuardPolicy{AllowPrivate: true}
	if s.policy != nil {
		policy = *s.policy
	}
	hc, err := httpx.New(connectors.HTTPOptions(connectors.NewValues(Spec, s.config), policy, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := Spec.New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "pd-1", TypeID: Spec.ID, Config: s.config, CredentialRef: s.credentialRef},
		Credentials: s.env, HTTP: hc, Policy: policy,
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

func TestTriggerThenResolveWithOneDedupKey(t *testing.T) {
	t.Parallel()
	pd := pagerdutyfake.New(t, routingKey, "")
	c := newConnector(t, defaults(pd))
	const dedup = "acme:3f6c2d9e"
	id, err := c.Notify(context.Background(), connectors.Message{
		Severity: "critical", Title: "Registry prod is unhealthy", Text: "connection refused\nsince 10:15",
		ThreadKey: dedup, Data: map[string]any{"integrationId": "3f6c2d9e", notify.KeyAction: notify.ActionTrigger, notify.KeyHTML: "<b>x</b>"},
	})
	if err != nil {
		t.Fatalf("trigger: %v", err)
	}
	if id != dedup {
		t.Errorf("provider message id %q, want the dedup key", id)
	}
	ev := pd.Events()[0]
	if ev.Payload.Summary != "Registry prod is unhealthy" || ev.Payload.Severity != "critical" || ev.Payload.Source != DefaultSource {
		t.Errorf("payload %+v", ev.Payload)
	}
	if ev.Payload.CustomDetails["integrationId"] != "3f6c2d9e" || ev.Payload.CustomDetails["text"] == nil || ev.Payload.CustomDetails[notify.KeyHTML] != nil {
		t.Errorf("custom details %v: want data and text, without the rendered formats", ev.Payload.CustomDetails)
	}
	if _, err := c.Notify(context.Background(), connectors.Message{ThreadKey: dedup, Severity: "info", Title: "recovered",
		Data: map[string]any{notify.KeyAction: notify.ActionResolve}}); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	a, _ := pd.Alert(dedup)
	if a.Status != "resolved" || a.Triggers != 1 || pd.Count("trigger", dedup) != 1 || pd.Count("resolve", dedup) != 1 {
		t.Errorf("alert %+v, events %+v", a, pd.Events())
	}
}

func TestNotifyRefusals(t *testing.T) {
	t.Parallel()
	pd := pagerdutyfake.New(t, routingKey, "")
	c := newConnector(t, defaults(pd))
	tests := []struct {
		name string
		m    connectors.Message
		want resilience.Code
	}{
		{"resolve without a key", connectors.Message{Data: map[string]any{notify.KeyAction: "resolve"}}, resilience.InvalidConfig},
		{"trigger without a summary", connectors.Message{ThreadKey: "k"}, resilience.InvalidConfig},
	}
	for _, tc := range tests {
		_, err := c.Notify(context.Background(), tc.m)
		wantCode(t, tc.name, err, tc.want)
	}
	if pd.Calls() != 0 {
		t.Errorf("%d calls for messages that cannot be sent", pd.Calls())
	}
}

func TestLongThreadKeyIsHashed(t *testing.T) {
	t.Parallel()
	pd := pagerdutyfake.New(t, routingKey, "")
	c := newConnector(t, defaults(pd))
	long := strings.Repeat("k", 300)
	id, err := c.Notify(context.Background(), connectors.Message{Title: "t", ThreadKey: long})
	if err != nil {
		t.Fatal(err)
	}
	if len(id) > 255 || id != DedupKey(long) || !strings.HasPrefix(id, "sha256:") {
		t.Errorf("dedup key %q", id)
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
		{"429 throttled", 429, http.Header{"Retry-After": {"3"}}, `{"status":"throttle event","message":"Requests for this service are arriving too quickly."}`, resilience.RateLimited, 3 * time.Second},
		{"500", 500, nil, "", resilience.UpstreamError, 0},
		{"400 invalid event", 400, http.Header{"Content-Type": {"application/json"}}, `{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing or blank"]}`, resilience.InvalidConfig, 0},
		{"400 routing key", 400, http.Header{"Content-Type": {"application/json"}}, `{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key"]}`, resilience.AuthenticationFailed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pd := pagerdutyfake.New(t, routingKey, "")
			pd.Force(tc.status, tc.header, tc.body)
			c := newConnector(t, defaults(pd))
			_, err := c.Notify(context.Background(), connectors.Message{Title: "t", ThreadKey: "k"})
			wantCode(t, "notify", err, tc.want)
			if got := resilience.RetryAfterOf(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
			if strings.Contains(err.Error(), routingKey) {
				t.Errorf("error carries the routing key: %v", err)
			}
		})
	}
}

func TestRealValidationIsPassed(t *testing.T) {
	t.Parallel()
	// The fake validates as PagerDuty does: a wrong key is refused there,
	// not just by our shape check.
	pd := pagerdutyfake.New(t, routingKey, "")
	s := defaults(pd)
	s.env["PD_ROUTING_KEY"] = "X0123456789abcdef0123456789abcde"
	c := newConnector(t, s)
	_, err := c.Notify(context.Background(), connectors.Message{Title: "t", ThreadKey: "k"})
	wantCode(t, "unknown key", err, resilience.AuthenticationFailed)
	if pd.Rejected() != 1 {
		t.Errorf("rejected %d", pd.Rejected())
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	pd := pagerdutyfake.New(t, routingKey, restKey)
	t.Run("all pass with a REST key", func(t *testing.T) {
		t.Parallel()
		s := defaults(pd)
		s.credentialRef = "env://PD_API_KEY"
		c := newConnector(t, s)
		for name, check := range map[string]func(context.Context) error{
			"connectivity": c.CheckConnectivity, "authentication": c.CheckAuthentication, "functionality": c.CheckFunctionality,
		} {
			if err := check(context.Background()); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("functionality pages no one", func(t *testing.T) {
		t.Parallel()
		fresh := pagerdutyfake.New(t, routingKey, "")
		c := newConnector(t, defaults(fresh))
		if err := c.CheckFunctionality(context.Background()); err != nil {
			t.Fatal(err)
		}
		evs := fresh.Events()
		if len(evs) != 1 || evs[0].EventAction != "resolve" || !evs[0].Dropped {
			t.Errorf("events %+v: want one dropped resolve", evs)
		}
	})
	t.Run("wrong REST key", func(t *testing.T) {
		t.Parallel()
		s := defaults(pd)
		s.credentialRef, s.env["PD_API_KEY"] = "env://PD_API_KEY", "wrong"
		c := newConnector(t, s)
		wantCode(t, "authentication", c.CheckAuthentication(context.Background()), resilience.AuthenticationFailed)
	})
	t.Run("routing key of the wrong shape", func(t *testing.T) {
		t.Parallel()
		s := defaults(pd)
		s.env["PD_ROUTING_KEY"] = "short"
		c := newConnector(t, s)
		wantCode(t, "authentication", c.CheckAuthentication(context.Background()), resilience.InvalidConfig)
	})
	t.Run("routing key not resolvable", func(t *testing.T) {
		t.Parallel()
		s := defaults(pd)
		delete(s.env, "PD_ROUTING_KEY")
		c := newConnector(t, s)
		wantCode(t, "authentication", c.CheckAuthentication(context.Background()), resilience.CredentialFetchFailed)
		wantCode(t, "notify", func() error { _, err := c.Notify(context.Background(), connectors.Message{Title: "t"}); return err }(), resilience.CredentialFetchFailed)
	})
	t.Run("guard blocks loopback by default", func(t *testing.T) {
		t.Parallel()
		s := defaults(pd)
		s.policy = &httpx.GuardPolicy{}
		c := newConnector(t, s)
		wantCode(t, "connectivity", c.CheckConnectivity(context.Background()), resilience.DestinationBlocked)
	})
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		gone := pagerdutyfake.New(t, routingKey, "")
		c := newConnector(t, defaults(gone))
		gone.Close()
		wantCode(t, "connectivity", c.CheckConnectivity(context.Background()), resilience.ConnectionRefused)
	})
}

func TestSeverityMapping(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"critical": "critical", "WARNING": "warning", "info": "info", "error": "error", "fatal": "error", "": "error"} {
		if got := Severity(in); got != want {
			t.Errorf("Severity(%q) = %q, want %q", in, got, want)
		}
	}
}
