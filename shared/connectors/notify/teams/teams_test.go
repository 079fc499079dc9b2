package teams

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

type envSource map[string]string

func (e envSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	return testsvc.EnvCredentials(e).Resolve(ctx, raw)
}

func newConnector(t *testing.T, w *workflow, webhookURL string, extra map[string]any, policy httpx.GuardPolicy) *Connector {
	t.Helper()
	cfg := map[string]any{"webhookUrlRef": "env://TEAMS_URL", "caCert": w.caPEM()}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := Spec.ValidateConfig(cfg); err != nil {
		t.Fatalf("config refused by the spec: %v", err)
	}
	c, err := Spec.New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "teams-1", TypeID: Spec.ID, Config: cfg},
		Credentials: envSource{"TEAMS_URL": webhookURL}, Policy: policy,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Connector)
}

var allowLoopback = httpx.GuardPolicy{AllowPrivate: true}

func wantCode(t *testing.T, what string, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("%s: code %q (err %v), want %s", what, got, err, want)
	}
}

func TestNotifyPostsDefaultCard(t *testing.T) {
	t.Parallel()
	w := newWorkflow(t)
	c := newConnector(t, w, w.url(w.sig), nil, allowLoopback)
	id, err := c.Notify(context.Background(), connectors.Message{
		Severity: "critical", Title: "Registry prod is unhealthy", Text: "connection refused",
		Data: map[string]any{"integrationId": "3f6c", "labels": map[string]string{"env": "prod"}, notify.KeyHTML: "<b>no</b>"},
	})
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if !strings.HasPrefix(id, "08584759") {
		t.Errorf("provider message id %q, want the run id", id)
	}
	cards := w.accepted()
	if len(cards) != 1 {
		t.Fatalf("%d cards", len(cards))
	}
	body := cards[0]["body"].([]any)
	title := body[0].(map[string]any)
	if title["text"] != "Registry prod is unhealthy" || title["color"] != "Attention" {
		t.Errorf("title block %v", title)
	}
	facts := body[2].(map[string]any)["facts"].([]any)
	if len(facts) != 3 || facts[0].(map[string]any)["value"] != "critical" || facts[2].(map[string]any)["value"] != `{"env":"prod"}` {
		t.Errorf("facts %v: want severity, integrationId, labels and no rendered html", facts)
	}
}

func TestNotifyPostsRenderedCard(t *testing.T) {
	t.Parallel()
	w := newWorkflow(t)
	c := newConnector(t, w, w.url(w.sig), nil, allowLoopback)
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{map[string]any{"type": "TextBlock", "text": "from a template"}}}
	if _, err := c.Notify(context.Background(), connectors.Message{Title: "ignored", Data: map[string]any{notify.KeyTeamsCard: card}}); err != nil {
		t.Fatal(err)
	}
	if got := w.accepted()[0]["body"].([]any)[0].(map[string]any)["text"]; got != "from a template" {
		t.Errorf("card text %v", got)
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		want       resilience.Code
		retryAfter time.Duration
	}{
		{"429", 429, http.Header{"Retry-After": {"4"}}, resilience.RateLimited, 4 * time.Second},
		{"502", 502, nil, resilience.UpstreamError, 0},
		{"400", 400, nil, resilience.InvalidConfig, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorkflow(t)
			w.force(tc.status, tc.header)
			c := newConnector(t, w, w.url(w.sig), nil, allowLoopback)
			_, err := c.Notify(context.Background(), connectors.Message{Title: "t"})
			wantCode(t, "notify", err, tc.want)
			if got := resilience.RetryAfterOf(err); got != tc.retryAfter {
				t.Errorf("retry after %s, want %s", got, tc.retryAfter)
			}
		})
	}
}

func TestTheURLIsACredential(t *testing.T) {
	t.Parallel()
	w := newWorkflow(t)
	bad := newConnector(t, w, w.url("forged"), nil, allowLoopback)
	_, err := bad.Notify(context.Background(), connectors.Message{Title: "t"})
	wantCode(t, "wrong sig", err, resilience.AuthenticationFailed)
	gone := newConnector(t, w, strings.Replace(w.url(w.sig), w.id, "deleted0000", 1), nil, allowLoopback)
	_, err = gone.Notify(context.Background(), connectors.Message{Title: "t"})
	wantCode(t, "deleted workflow", err, resilience.ResourceNotFound)
	for _, e := range []error{err} {
		if strings.Contains(e.Error(), "deleted0000") || strings.Contains(e.Error(), w.sig) || strings.Contains(e.Error(), "sig=") {
			t.Errorf("error shows the URL: %v", e)
		}
	}
	plain := newConnector(t, w, strings.Replace(w.url(w.sig), "https://", "http://", 1), nil, allowLoopback)
	wantCode(t, "http URL", plain.CheckAuthentication(context.Background()), resilience.InvalidConfig)
	missing := newConnector(t, w, "", nil, allowLoopback)
	wantCode(t, "unset reference", missing.CheckAuthentication(context.Background()), resilience.CredentialFetchFailed)
}

func TestChecks(t *testing.T) {
	t.Parallel()
	w := newWorkflow(t)
	quiet := newConnector(t, w, w.url(w.sig), nil, allowLoopback)
	for name, check := range map[string]func(context.Context) error{
		"connectivity": quiet.CheckConnectivity, "authentication": quiet.CheckAuthentication, "functionality": quiet.CheckFunctionality,
	} {
		if err := check(context.Background()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(w.accepted()); n != 0 {
		t.Errorf("checks posted %d cards without healthCheckCard", n)
	}
	loud := newConnector(t, w, w.url(w.sig), map[string]any{"healthCheckCard": true}, allowLoopback)
	if err := loud.CheckFunctionality(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(w.accepted()); n != 1 {
		t.Errorf("%d test cards, want 1", n)
	}
	blocked := newConnector(t, w, w.url(w.sig), map[string]any{"healthCheckCard": true}, httpx.GuardPolicy{})
	wantCode(t, "guard", blocked.CheckConnectivity(context.Background()), resilience.DestinationBlocked)
	before := w.callCount()
	_, err := blocked.Notify(context.Background(), connectors.Message{Title: "t"})
	wantCode(t, "guard notify", err, resilience.DestinationBlocked)
	if w.callCount() != before {
		t.Errorf("a blocked connector reached the workflow")
	}
}
