package pagerduty

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Limits of the Events API v2 (its reference).
const (
	maxSummary  = 1024
	maxDedupKey = 255
	maxSource   = 255
	routingKeyN = 32
)

// Event is the body of POST /v2/enqueue.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
}

// Payload is an alert's PD-CEF payload (trigger only).
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Response is the Events API's answer, success or not.
type Response struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// Connector is the PagerDuty connector of one integration revision.
type Connector struct {
	integrationID string
	eventsURL     string
	apiURL        string
	source        string
	routingKeyRef string
	apiKeyRef     string
	credentials   connectors.CredentialSource
	hc            kit.Client
}

var (
	_ connectors.Checker  = (*Connector)(nil)
	_ connectors.Notifier = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	events, err := baseURL("eventsUrl", cfg.String("eventsUrl"))
	if err != nil {
		return nil, err
	}
	api, err := baseURL("apiUrl", cfg.String("apiUrl"))
	if err != nil {
		return nil, err
	}
	c := &Connector{
		integrationID: in.Integration.ID, eventsURL: events, apiURL: api,
		source:        notify.Truncate(cfg.String("source"), maxSource),
		routingKeyRef: cfg.String("routingKeyRef"), apiKeyRef: in.Integration.CredentialRef,
		credentials: in.Credentials,
	}
	if c.routingKeyRef == "" {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"routingKeyRef\" is required")
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

func baseURL(field, raw string) (string, error) {
	u, err := kit.ParseBaseURL(field, raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity reaches the Events API host: any HTTP answer passes.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.hc.Reach(ctx, "reach the PagerDuty Events API", c.eventsURL+"/")
	return err
}

// CheckAuthentication resolves the routing key and checks its shape, then,
// with a REST API key configured, asks GET /abilities to accept it.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	if _, err := c.routingKey(ctx); err != nil {
		return err
	}
	if c.apiKeyRef == "" {
		return nil // nothing else to verify without sending an event
	}
	// The REST API takes "Authorization: Token token=<key>", for a key
	// stored as an API key or as a token.
	scheme := kit.Scheme{Header: "Authorization", Prefix: "Token token="}
	auth, err := kit.Credential(ctx, c.credentials, c.apiKeyRef, "the PagerDuty REST API key",
		[]string{connectors.CredAPIKey, connectors.CredToken}, kit.APIKeyAs(scheme), kit.TokenAs(scheme))
	if err != nil {
		return err
	}
	_, err = c.hc.Call(ctx, "authenticate to the PagerDuty REST API",
		kit.Request{URL: c.apiURL + "/abilities", Auth: auth, Accept: "application/vnd.pagerduty+json;version=2"}, nil)
	return err
}

// CheckFunctionality sends a resolve for a dedup key that is never
// triggered: accepted, and dropped by PagerDuty.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	_, err := c.send(ctx, Event{EventAction: notify.ActionResolve, DedupKey: "inthub-health-check:" + c.integrationID})
	if err != nil {
		return fmt.Errorf("send a test resolve event: %w", err)
	}
	return nil
}

// Notify triggers (or, with Data action "resolve", resolves) the alert whose
// dedup_key is the message's ThreadKey and returns the dedup key.
func (c *Connector) Notify(ctx context.Context, m connectors.Message) (string, error) {
	ev := Event{DedupKey: DedupKey(m.ThreadKey)}
	switch notify.Action(m) {
	case notify.ActionResolve:
		if ev.DedupKey == "" {
			return "", resilience.New(resilience.InvalidConfig, "resolving a PagerDuty alert needs the thread key it was triggered with")
		}
		ev.EventAction = notify.ActionResolve
	default:
		summary := notify.Summary(m)
		if summary == "" {
			return "", resilience.New(resilience.InvalidConfig, "a PagerDuty alert needs a title or text for its summary")
		}
		details := notify.Details(m)
		if strings.TrimSpace(m.Text) != "" && strings.TrimSpace(m.Text) != summary {
			details["text"] = m.Text
		}
		if len(details) == 0 {
			details = nil
		}
		ev.EventAction = notify.ActionTrigger
		ev.Payload = &Payload{
			Summary: notify.Truncate(summary, maxSummary), Source: c.source, Severity: Severity(m.Severity),
			Timestamp: c.hc.Now().UTC().Format(time.RFC3339), CustomDetails: details,
		}
	}
	ack, err := c.send(ctx, ev)
	if err != nil {
		return "", fmt.Errorf("send the PagerDuty %s event: %w", ev.EventAction, err)
	}
	if ack.DedupKey != "" {
		return ack.DedupKey, nil
	}
	return ev.DedupKey, nil
}

// DedupKey fits a thread key into the Events API's dedup_key: as is up to
// 255 characters, else its SHA-256.
func DedupKey(threadKey string) string {
	if len(threadKey) <= maxDedupKey {
		return threadKey
	}
	sum := sha256.Sum256([]byte(threadKey))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Severity maps the hub's severities onto PagerDuty's; anything else is
// "error", so an unknown severity still pages.
func Severity(s string) string {
	switch s := strings.ToLower(s); s {
	case notify.SeverityCritical, notify.SeverityError, notify.SeverityWarning, notify.SeverityInfo:
		return s
	}
	return notify.SeverityError
}

// send POSTs ev to /v2/enqueue with the routing key and decodes the answer.
func (c *Connector) send(ctx context.Context, ev Event) (Response, error) {
	key, err := c.routingKey(ctx)
	if err != nil {
		return Response{}, err
	}
	ev.RoutingKey = key
	ev.Client = DefaultSource
	resp, err := c.hc.Send(ctx, kit.Request{Method: http.MethodPost, URL: c.eventsURL + "/v2/enqueue", JSON: ev})
	if err != nil {
		return Response{}, err
	}
	defer kit.Drain(resp)
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var answer Response
	_ = json.Unmarshal(raw, &answer)
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
		return answer, nil
	case resp.StatusCode == http.StatusBadRequest:
		return Response{}, invalidEvent(answer)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if err := c.hc.Check(resp); err != nil {
		return Response{}, err
	}
	return Response{}, resilience.New(resilience.UpstreamError, "the Events API answered HTTP %d, not 202", resp.StatusCode)
}

// invalidEvent turns a 400 into a code: a refused routing key is
// AUTHENTICATION_FAILED, anything else INVALID_CONFIG; neither is retried.
func invalidEvent(r Response) error {
	msg := r.Message
	if msg == "" {
		msg = "invalid event"
	}
	if len(r.Errors) > 0 {
		msg += ": " + strings.Join(r.Errors, "; ")
	}
	msg = notify.Truncate(msg, 512)
	if strings.Contains(strings.ToLower(strings.Join(r.Errors, " ")), "routing_key") ||
		strings.Contains(strings.ToLower(strings.Join(r.Errors, " ")), "routing key") {
		return resilience.New(resilience.AuthenticationFailed, "PagerDuty refused the routing key: %s", msg)
	}
	return resilience.New(resilience.InvalidConfig, "PagerDuty refused the event (HTTP 400): %s", msg)
}

// routingKey resolves routingKeyRef and checks its shape.
func (c *Connector) routingKey(ctx context.Context) (string, error) {
	s, err := kit.Resolve(ctx, c.credentials, c.routingKeyRef, "the PagerDuty routing key")
	if err != nil {
		return "", err
	}
	key := strings.TrimSpace(s.First("routingKey", "routing_key", "integrationKey", "key", "value"))
	if len(key) != routingKeyN {
		return "", resilience.New(resilience.InvalidConfig,
			"the PagerDuty routing key must be the %d-character Events API v2 integration key (it has %d)", routingKeyN, len(key))
	}
	return key, nil
}
