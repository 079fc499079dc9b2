package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/testsvc"
)

const secret = "whsec-test-0123456789"

// envSource resolves env:// references from vars, never the process's
// environment, so parallel tests do not interfere.
type envSource map[string]string

func (e envSource) Resolve(ctx context.Context, raw string) (credentials.Secret, error) {
	return testsvc.EnvCredentials(e).Resolve(ctx, raw)
}

// setup is what one connector under test is built from.
type setup struct {
	config        map[string]any
	credentialRef string
	env           envSource
	policy        *httpx.GuardPolicy // nil: loopback allowed
}

// signed is the setup of a connector signing with secret for r.
func signed(r *receiver, secret string) setup {
	return setup{
		config: map[string]any{"url": r.srv.URL + "/hooks/inthub", "signingSecretRef": "env://WEBHOOK_SECRET"},
		env:    envSource{"WEBHOOK_SECRET": secret},
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
		t.Fatalf("httpx.New: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	c, err := Spec.New(context.Background(), connectors.Instance{
		Integration: contracts.Integration{ID: "int-1", TypeID: Spec.ID, Config: s.config, CredentialRef: s.credentialRef},
		Credentials: s.env,
		HTTP:        hc,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*Connector)
}

type check struct {
	level contracts.CheckType
	run   func(*Connector, context.Context) error
}

var checks = []check{
	{contracts.CheckConnectivity, (*Connector).CheckConnectivity},
	{contracts.CheckAuthentication, (*Connector).CheckAuthentication},
	{contracts.CheckFunctionality, (*Connector).CheckFunctionality},
}

func notify(c *Connector) error {
	_, err := c.Notify(context.Background(), connectors.Message{Title: "t", Text: "x"})
	return err
}

func wantCode(t *testing.T, what string, err error, want resilience.Code) {
	t.Helper()
	if got := resilience.CodeOf(err); got != want {
		t.Fatalf("%s: code %q (err %v), want %s", what, got, err, want)
	}
}

func TestChecksPass(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	c := newConnector(t, signed(r, secret))
	for _, ch := range checks {
		if err := ch.run(c, onDemand); err != nil {
			t.Errorf("%s: %v", ch.level, err)
		}
	}
	if h, g := r.count(http.MethodHead), r.count(http.MethodGet); h != 1 || g != 1 {
		t.Errorf("connectivity sent HEAD %d, GET %d times; want 1 and 1 (GET after the 405)", h, g)
	}
	got := r.accepted()
	if len(got) != 2 {
		t.Fatalf("%d test deliveries accepted, want 2 (authentication, functionality)", len(got))
	}
	for _, d := range got {
		var raw map[string]any
		if err := json.Unmarshal(d.body, &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) != 3 || raw["type"] != TypeTest || raw["id"] == "" || raw["timestamp"] == nil {
			t.Errorf("test payload %s, want exactly type, id, timestamp", d.body)
		}
	}
	if got[0].payload.ID == got[1].payload.ID {
		t.Errorf("two deliveries share the id %s", got[0].payload.ID)
	}
}

func TestConnectivityUsesHeadWhenAllowed(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	r.allowHead = true
	health := newReceiver(t, "")
	health.allowHead = true
	s := signed(r, secret)
	s.config["healthUrl"] = health.srv.URL + "/healthz"
	c := newConnector(t, s)
	if err := c.CheckConnectivity(context.Background()); err != nil {
		t.Fatal(err)
	}
	if health.count(http.MethodHead) != 1 || health.count(http.MethodGet) != 0 || r.count(http.MethodHead) != 0 {
		t.Errorf("calls: health %v, url %v; want one HEAD to healthUrl only", health.calls, r.calls)
	}
}

func TestConnectivityAcceptsAnyHTTPAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	c := newConnector(t, setup{config: map[string]any{"url": srv.URL}})
	if err := c.CheckConnectivity(context.Background()); err != nil {
		t.Errorf("a 500 still proves connectivity: %v", err)
	}
}

func TestNotifyDeliversSignedPayload(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	r.signatureHeader = "X-Hub-Signature-256"
	r.authorization = "Bearer tok-123"
	s := signed(r, secret)
	s.config["signatureHeader"] = "X-Hub-Signature-256"
	s.credentialRef, s.env["WEBHOOK_TOKEN"] = "env://WEBHOOK_TOKEN", "tok-123"
	c := newConnector(t, s)
	before := time.Now().Truncate(time.Second)
	id, err := c.Notify(context.Background(), connectors.Message{
		Channel: "#releases", Severity: "warning", Title: "Promotion blocked", Text: "Gate failed",
		ThreadKey: "rel-42", Data: map[string]any{"release": "v1.2.3"},
	})
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	got := r.accepted()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	d := got[0]
	if id == "" || d.header.Get(HeaderDelivery) != id || d.payload.ID != id {
		t.Errorf("id %q, header %q, payload id %q: want one id", id, d.header.Get(HeaderDelivery), d.payload.ID)
	}
	want := Payload{ID: id, Type: TypeNotification, Severity: "warning", Title: "Promotion blocked", Text: "Gate failed",
		Channel: "#releases", ThreadKey: "rel-42", Data: map[string]any{"release": "v1.2.3"}, Timestamp: d.payload.Timestamp}
	if gotJSON, wantJSON := mustJSON(t, d.payload), mustJSON(t, want); gotJSON != wantJSON {
		t.Errorf("payload %s, want %s", gotJSON, wantJSON)
	}
	if ts := d.payload.Timestamp; ts.Before(before) || ts.After(time.Now()) || d.header.Get(HeaderTimestamp) == "" {
		t.Errorf("timestamp %s (header %q) is not the sending time", ts, d.header.Get(HeaderTimestamp))
	}
	if d.header.Get(DefaultSignatureHeader) != "" {
		t.Errorf("signature also sent in the default header")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAuthorizationFromCredential(t *testing.T) {
	t.Parallel()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("hook-user:hook-pass"))
	tests := []struct {
		name, value, want string
	}{
		{"token", `{"token":"tok-1"}`, "Bearer tok-1"},
		{"plain value is a token", "tok-2", "Bearer tok-2"},
		{"api key", `{"apiKey":"key-3"}`, "Bearer key-3"},
		{"basic", `{"username":"hook-user","password":"hook-pass"}`, basic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReceiver(t, "")
			r.authorization = tc.want
			c := newConnector(t, setup{config: map[string]any{"url": r.srv.URL}, credentialRef: "env://CRED", env: envSource{"CRED": tc.value}})
			for _, ch := range checks {
				if err := ch.run(c, onDemand); err != nil {
					t.Errorf("%s: %v", ch.level, err)
				}
			}
		})
	}
}

func TestWrongSecretIsAuthenticationFailed(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	c := newConnector(t, signed(r, "not-the-secret"))
	if err := c.CheckConnectivity(context.Background()); err != nil {
		t.Errorf("connectivity: %v", err)
	}
	err := c.CheckAuthentication(onDemand)
	wantCode(t, "authentication", err, resilience.AuthenticationFailed)
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "not-the-secret") {
		t.Errorf("error text carries a secret: %v", err)
	}
	wantCode(t, "functionality", c.CheckFunctionality(onDemand), resilience.AuthenticationFailed)
	wantCode(t, "notify", notify(c), resilience.AuthenticationFailed)
	if n, rej := r.count(http.MethodPost), r.rejections(); n != 3 || rej != 3 {
		t.Errorf("receiver got %d POSTs and rejected %d, want 3 and 3 (no retries)", n, rej)
	}
	if len(r.accepted()) != 0 {
		t.Errorf("a delivery with the wrong signature was accepted")
	}
}

func TestUnsignedDeliveryIsRejected(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	c := newConnector(t, setup{config: map[string]any{"url": r.srv.URL}})
	wantCode(t, "authentication", c.CheckAuthentication(onDemand), resilience.AuthenticationFailed)
}

func TestReceiverAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		want       resilience.Code
		retryAfter time.Duration
		authPasses bool // the authentication check learns nothing from this answer
	}{
		{"429 with Retry-After", 429, http.Header{"Retry-After": {"7"}}, resilience.RateLimited, 7 * time.Second, false},
		{"500", 500, nil, resilience.UpstreamError, 0, true},
		{"404", 404, nil, resilience.ResourceNotFound, 0, true},
		{"403", 403, nil, resilience.PermissionDenied, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newReceiver(t, secret)
			r.force(tc.status, tc.header)
			c := newConnector(t, signed(r, secret))
			for what, err := range map[string]error{
				"functionality": c.CheckFunctionality(onDemand),
				"notify":        notify(c),
			} {
				wantCode(t, what, err, tc.want)
				if got := resilience.RetryAfterOf(err); got != tc.retryAfter {
					t.Errorf("%s: retry after %s, want %s", what, got, tc.retryAfter)
				}
			}
			err := c.CheckAuthentication(onDemand)
			switch {
			case tc.authPasses && err != nil:
				t.Errorf("authentication: %v, want pass", err)
			case tc.status == 403:
				wantCode(t, "authentication", err, resilience.AuthenticationFailed)
			case !tc.authPasses:
				wantCode(t, "authentication", err, tc.want)
			}
		})
	}
}

func TestReceiverDownIsConnectionRefused(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	c := newConnector(t, signed(r, secret))
	r.srv.Close()
	for _, ch := range checks {
		wantCode(t, string(ch.level), ch.run(c, onDemand), resilience.ConnectionRefused)
	}
	wantCode(t, "notify", notify(c), resilience.ConnectionRefused)
}

func TestCredentialFetchFailed(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	tests := []struct {
		name string
		s    setup
		want resilience.Code
	}{
		{"signing secret not set", setup{config: map[string]any{"url": r.srv.URL, "signingSecretRef": "env://NOT_SET"}, env: envSource{}}, resilience.CredentialFetchFailed},
		{"credential not set", setup{config: map[string]any{"url": r.srv.URL}, credentialRef: "env://NOT_SET", env: envSource{}}, resilience.CredentialFetchFailed},
		// The source's own code survives: a reference it refuses is a
		// configuration error, not a fetch to retry.
		{"reference the source refuses", setup{config: map[string]any{"url": r.srv.URL, "signingSecretRef": "vault://vault-1/hooks#secret"}, env: envSource{}}, resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t, tc.s)
			wantCode(t, "authentication", c.CheckAuthentication(onDemand), tc.want)
			wantCode(t, "notify", notify(c), tc.want)
		})
	}
	if n := r.count(http.MethodPost); n != 0 {
		t.Errorf("%d deliveries sent without their secrets", n)
	}
}

func TestRedirectThatDropsThePayloadFails(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	mux := http.NewServeMux()
	mux.Handle("/", http.RedirectHandler(r.srv.URL+"/moved", http.StatusFound))
	old := httptest.NewServer(mux)
	t.Cleanup(old.Close)
	s := signed(r, secret)
	s.config["url"] = old.URL
	c := newConnector(t, s)
	wantCode(t, "notify", notify(c), resilience.InvalidConfig)
	if len(r.accepted()) != 0 || r.count(http.MethodGet) != 1 {
		t.Errorf("calls %v: want the redirect to end as a GET, not a delivery", r.calls)
	}
}

func TestGuardBlocksLoopbackByDefault(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	s := signed(r, secret)
	s.policy = &httpx.GuardPolicy{}
	c := newConnector(t, s)
	for _, ch := range checks {
		wantCode(t, string(ch.level), ch.run(c, onDemand), resilience.DestinationBlocked)
	}
	wantCode(t, "notify", notify(c), resilience.DestinationBlocked)
	if n := r.count(http.MethodPost) + r.count(http.MethodHead) + r.count(http.MethodGet); n != 0 {
		t.Errorf("the receiver got %d calls through the guard", n)
	}
}

func TestNewRefusesConfigThatCannotWork(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  map[string]any
	}{
		{"no url", map[string]any{}},
		{"bad healthUrl", map[string]any{"url": "https://hooks.example.com/x", "healthUrl": "ftp://hooks.example.com"}},
		{"bad signature header", map[string]any{"url": "https://hooks.example.com/x", "signatureHeader": "X Sig"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.cfg}, HTTP: connectortest.HTTP(t, nil, nil)})
			wantCode(t, "New", err, resilience.InvalidConfig)
		})
	}
}

// A message's DeliveryID is the delivery id on every attempt, so a receiver
// can drop the duplicate a redelivery after a crash sends.
func TestDeliveryIDIsStableAcrossAttempts(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	c := newConnector(t, signed(r, secret))
	const stable = "5b1f3c4e-2d7a-5e8b-9c0d-112233445566"
	for range 2 {
		id, err := c.Notify(context.Background(), connectors.Message{Title: "t", DeliveryID: stable})
		if err != nil || id != stable {
			t.Fatalf("Notify: id %q, %v; want %q", id, err, stable)
		}
	}
	other, err := c.Notify(context.Background(), connectors.Message{Title: "t"})
	if err != nil || other == "" || other == stable {
		t.Fatalf("a message without a DeliveryID got id %q (%v), want a fresh one", other, err)
	}
	got := r.accepted()
	if len(got) != 3 || got[0].header.Get(HeaderDelivery) != stable || got[1].header.Get(HeaderDelivery) != stable ||
		got[1].payload.ID != stable || got[2].header.Get(HeaderDelivery) != other {
		t.Fatalf("deliveries %+v", got)
	}
}

// onDemand is the context of an explicit test, the only kind on which the
// checks deliver a signed test payload.
var onDemand = connectors.OnDemand(context.Background())

// Scheduled checks run every few minutes and must leave the receiver alone:
// no test payload reaches it; a failing secret still fails them.
func TestScheduledChecksDeliverNothing(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, secret)
	c := newConnector(t, signed(r, secret))
	scheduled := context.Background()
	for name, check := range map[string]func(context.Context) error{
		"connectivity": c.CheckConnectivity, "authentication": c.CheckAuthentication, "functionality": c.CheckFunctionality,
	} {
		if err := check(scheduled); err != nil {
			t.Fatalf("scheduled %s: %v", name, err)
		}
	}
	if n := r.count(http.MethodPost); n != 0 {
		t.Fatalf("scheduled checks POSTed %d test deliveries, want 0", n)
	}
	if err := c.CheckFunctionality(onDemand); err != nil || r.count(http.MethodPost) != 1 {
		t.Fatalf("an explicit test delivered %d (%v), want 1", r.count(http.MethodPost), err)
	}
	broken := newConnector(t, setup{config: map[string]any{"url": r.srv.URL, "signingSecretRef": "env://NOT_SET"}, env: envSource{}})
	wantCode(t, "scheduled authentication", broken.CheckAuthentication(scheduled), resilience.CredentialFetchFailed)
}
