package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Payload types.
const (
	// TypeNotification is the type of a Notify delivery.
	TypeNotification = "inthub.notification"
	// TypeTest is the type of the health checks' test deliveries; receivers
	// should answer 2xx and otherwise ignore them.
	TypeTest = "inthub.test"
)

// Payload is the JSON body of a delivery.
type Payload struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Severity  string         `json:"severity,omitempty"`
	Title     string         `json:"title,omitempty"`
	Text      string         `json:"text,omitempty"`
	Channel   string         `json:"channel,omitempty"`
	ThreadKey string         `json:"threadKey,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	// Timestamp is the signing time (HeaderTimestamp), in RFC 3339.
	Timestamp time.Time `json:"timestamp"`
}

// Connector is the webhook connector of one integration revision. It keeps
// no secret: each delivery resolves them and drops them when sent.
type Connector struct {
	url              string
	healthURL        string
	signatureHeader  string
	signingSecretRef string
	credentialRef    string
	credentials      connectors.CredentialSource
	hc               kit.Client
}

var (
	_ connectors.Checker  = (*Connector)(nil)
	_ connectors.Notifier = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	target, err := parseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	health := target
	if raw := cfg.String("healthUrl"); raw != "" {
		if health, err = parseURL("healthUrl", raw); err != nil {
			return nil, err
		}
	}
	header := http.CanonicalHeaderKey(cfg.String("signatureHeader"))
	if !validHeaderName(header) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"signatureHeader\" is not a valid header name")
	}
	c := &Connector{
		url: target, healthURL: health, signatureHeader: header,
		signingSecretRef: cfg.String("signingSecretRef"), credentialRef: in.Integration.CredentialRef,
		credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// parseURL accepts an absolute http(s) URL without user info or fragment;
// the query and path are the receiver's and stay as given.
func parseURL(field, raw string) (string, error) {
	u, err := kit.ParseTargetURL(field, raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity sends HEAD to the health URL (url unless healthUrl is
// set), and GET when HEAD is not allowed: any HTTP answer proves the
// receiver is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	status, err := c.probe(ctx, http.MethodHead)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		_, err = c.probe(ctx, http.MethodGet)
	}
	if err != nil {
		return fmt.Errorf("reach the webhook receiver: %w", err)
	}
	return nil
}

func (c *Connector) probe(ctx context.Context, method string) (int, error) {
	return c.hc.ReachWith(ctx, method+" the health URL", method, c.healthURL)
}

// CheckAuthentication resolves the signing secret and the credential (a
// failure is CREDENTIAL_FETCH_FAILED). On an explicit test it also sends a
// signed test delivery: only a 401 or 403 answer says the receiver refused
// them. Other failures of the delivery are the functionality check's to
// report. Scheduled checks send nothing: a receiver cannot tell a test
// payload every few minutes from real traffic.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	if !connectors.IsOnDemand(ctx) {
		if _, _, err := c.secrets(ctx); err != nil {
			return fmt.Errorf("authenticate to the webhook receiver: %w", err)
		}
		return nil
	}
	_, resp, err := c.deliver(ctx, Payload{Type: TypeTest})
	if err != nil {
		return fmt.Errorf("authenticate to the webhook receiver: %w", err)
	}
	defer kit.Drain(resp)
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg := "the webhook receiver refused the test delivery's signature or credentials"
		var answer *resilience.Error
		if errors.As(c.hc.Check(resp), &answer) {
			msg += ": " + answer.Message
		}
		return resilience.New(resilience.AuthenticationFailed, "%s", msg)
	case http.StatusTooManyRequests:
		return fmt.Errorf("authenticate to the webhook receiver: %w", c.hc.Check(resp))
	}
	return nil
}

// CheckFunctionality, on an explicit test, sends a signed test delivery that
// must be accepted (2xx). A scheduled check only resolves the secrets: the
// one proof of a receiver's functionality is a delivery, and scheduled
// checks have no side effects at the target.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if !connectors.IsOnDemand(ctx) {
		if _, _, err := c.secrets(ctx); err != nil {
			return fmt.Errorf("deliver a test payload: %w", err)
		}
		return nil
	}
	_, resp, err := c.deliver(ctx, Payload{Type: TypeTest})
	if err != nil {
		return fmt.Errorf("deliver a test payload: %w", err)
	}
	defer kit.Drain(resp)
	if err := c.accepted(resp); err != nil {
		return fmt.Errorf("deliver a test payload: %w", err)
	}
	return nil
}

// Notify delivers m and returns the delivery id.
func (c *Connector) Notify(ctx context.Context, m connectors.Message) (string, error) {
	id, resp, err := c.deliver(ctx, Payload{
		ID: m.DeliveryID, Type: TypeNotification, Severity: m.Severity, Title: m.Title, Text: m.Text,
		Channel: m.Channel, ThreadKey: m.ThreadKey, Data: m.Data,
	})
	if err != nil {
		return "", fmt.Errorf("deliver the notification: %w", err)
	}
	defer kit.Drain(resp)
	if err := c.accepted(resp); err != nil {
		return "", fmt.Errorf("deliver the notification: %w", err)
	}
	return id, nil
}

// accepted is nil for a 2xx answer and a coded error otherwise.
func (c *Connector) accepted(resp *http.Response) error {
	if resp.Request != nil && resp.Request.Method != http.MethodPost {
		// A 301/302/303 turned the POST into a GET without a body: whatever
		// answered did not get the payload.
		return resilience.New(resilience.InvalidConfig,
			"the receiver redirected the delivery and the payload was dropped on the way: configure the final URL")
	}
	if err := c.hc.Check(resp); err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resilience.New(resilience.UpstreamError, "the receiver answered HTTP %d, not 2xx", resp.StatusCode)
	}
	return nil
}

// deliver signs and POSTs p with its id (a fresh one when p has none) and
// a fresh timestamp. It returns the response whatever its status; the
// caller drains it.
func (c *Connector) deliver(ctx context.Context, p Payload) (string, *http.Response, error) {
	signingSecret, authorization, err := c.secrets(ctx)
	if err != nil {
		return "", nil, err
	}
	now := c.hc.Now()
	if p.ID == "" {
		p.ID = uuid.NewString()
	}
	p.Timestamp = now.UTC().Truncate(time.Second)
	body, err := json.Marshal(p)
	if err != nil {
		// Message.Data holds something JSON cannot carry (a channel, a func).
		return "", nil, resilience.Wrap(resilience.InvalidConfig, err, "encode the payload")
	}
	timestamp := strconv.FormatInt(now.Unix(), 10)
	header := http.Header{"Content-Type": {"application/json"}}
	header.Set(HeaderTimestamp, timestamp)
	header.Set(HeaderDelivery, p.ID)
	if signingSecret != "" {
		header.Set(c.signatureHeader, Sign(signingSecret, timestamp, body))
	}
	resp, err := c.hc.Send(ctx, kit.Request{Method: http.MethodPost, URL: c.url, Header: header, Body: body, Auth: authorization})
	if err != nil {
		return "", nil, err
	}
	return p.ID, resp, nil
}

// secrets resolves the signing secret and the Authorization header value,
// each empty when its reference is not set.
func (c *Connector) secrets(ctx context.Context) (signingSecret string, authorization kit.Auth, err error) {
	if c.signingSecretRef != "" {
		s, err := kit.Resolve(ctx, c.credentials, c.signingSecretRef, "the webhook signing secret")
		if err != nil {
			return "", kit.Auth{}, err
		}
		if signingSecret = s.First("value", "secret", "signingSecret", "signing_secret"); signingSecret == "" {
			return "", kit.Auth{}, resilience.New(resilience.InvalidConfig, "the signing secret needs a value (or key secret)")
		}
	}
	// Basic for username and password, else Bearer for a token or API key;
	// keys that name a type win over a lone value, which is a token.
	authorization, err = kit.Credential(ctx, c.credentials, c.credentialRef, "the webhook credentials",
		[]string{connectors.CredToken, connectors.CredAPIKey, connectors.CredBasic})
	if err != nil {
		return "", kit.Auth{}, err
	}
	return signingSecret, authorization, nil
}
