package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// ContentType of an Adaptive Card attachment.
const ContentType = "application/vnd.microsoft.card.adaptive"

// cardVersion is the Adaptive Card schema version the default card uses;
// Teams renders up to 1.5.
const cardVersion = "1.4"

// Envelope is the body a Teams webhook takes.
type Envelope struct {
	Type        string       `json:"type"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment carries one card.
type Attachment struct {
	ContentType string         `json:"contentType"`
	ContentURL  *string        `json:"contentUrl"`
	Content     map[string]any `json:"content"`
}

// Connector is the Teams connector of one integration revision.
type Connector struct {
	webhookRef  string
	testCard    bool
	credentials connectors.CredentialSource
	hc          kit.Client
}

var (
	_ connectors.Checker  = (*Connector)(nil)
	_ connectors.Notifier = (*Connector)(nil)
)

// New builds a connector. It builds its own guarded client, with the
// operator's policy, because the webhook URL's path is a secret that must
// stay out of errors and spans (HidePath).
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	ref := cfg.String("webhookUrlRef")
	if ref == "" {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"webhookUrlRef\" is required")
	}
	opts := connectors.WithScrubber(connectors.HTTPOptions(cfg, in.Policy, nil), in.Scrubber)
	opts.HidePath = true
	opts.MaxRedirects = -1 // a redirected POST would lose its card
	hc, err := httpx.New(opts)
	if err != nil {
		return nil, err
	}
	return &Connector{webhookRef: ref, testCard: cfg.Bool("healthCheckCard"), credentials: in.Credentials,
		hc: kit.Client{HTTP: hc, Now: time.Now}}, nil
}

// Close releases the connector's HTTP client.
func (c *Connector) Close() error {
	c.hc.HTTP.CloseIdleConnections()
	return nil
}

// CheckConnectivity reaches the webhook's host.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	u, err := c.webhook(ctx)
	if err != nil {
		return err
	}
	_, err = c.hc.Reach(ctx, "reach the Teams webhook host", u.Scheme+"://"+u.Host+"/")
	return err
}

// CheckAuthentication resolves the webhook URL and checks its shape.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, err := c.webhook(ctx)
	return err
}

// CheckFunctionality posts a test card when healthCheckCard is set.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	card := DefaultCard(connectors.Message{Severity: notify.SeverityInfo, Title: "Integration Hub test card",
		Text: "This card was posted by a functionality check of the Teams integration."})
	if !c.testCard {
		_, err := json.Marshal(card)
		return err
	}
	if _, err := c.post(ctx, card); err != nil {
		return fmt.Errorf("post a test card: %w", err)
	}
	return nil
}

// Notify posts the message's card and returns the workflow run id (or a
// generated id when the webhook gives none).
func (c *Connector) Notify(ctx context.Context, m connectors.Message) (string, error) {
	card, ok := m.Data[notify.KeyTeamsCard].(map[string]any)
	if !ok {
		if notify.Summary(m) == "" {
			return "", resilience.New(resilience.InvalidConfig, "a Teams message needs a title, a text or a card")
		}
		card = DefaultCard(m)
	}
	id, err := c.post(ctx, card)
	if err != nil {
		return "", fmt.Errorf("post the Teams card: %w", err)
	}
	return id, nil
}

// post sends one card and returns the run id.
func (c *Connector) post(ctx context.Context, card map[string]any) (string, error) {
	u, err := c.webhook(ctx)
	if err != nil {
		return "", err
	}
	envelope := Envelope{Type: "message", Attachments: []Attachment{{ContentType: ContentType, Content: card}}}
	resp, err := c.hc.Send(ctx, kit.Request{Method: http.MethodPost, URL: u.String(), JSON: envelope})
	if err != nil {
		return "", err
	}
	defer kit.Drain(resp)
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return "", resilience.New(resilience.InvalidConfig, "the Teams webhook answered a redirect (HTTP %d): configure the final URL", resp.StatusCode)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", resilience.New(resilience.AuthenticationFailed, "the Teams webhook refused its signature (HTTP %d): the URL is wrong or was regenerated", resp.StatusCode)
	}
	if err := c.hc.Check(resp); err != nil {
		return "", err
	}
	if id := resp.Header.Get("x-ms-workflow-run-id"); id != "" {
		return id, nil
	}
	return uuid.NewString(), nil
}

// webhook resolves the URL reference: its value (or key url) must be an
// https URL.
func (c *Connector) webhook(ctx context.Context) (*url.URL, error) {
	s, err := kit.Resolve(ctx, c.credentials, c.webhookRef, "the Teams webhook URL")
	if err != nil {
		return nil, err
	}
	// The URL is the credential: its errors never quote it.
	return kit.ParseTargetURL("webhookUrlRef", s.First("url", "webhookUrl", "value"), kit.HTTPSOnly(), kit.Named("the Teams webhook URL"))
}

// DefaultCard is the card of a message without a rendered template: the
// title in the severity's colour, the text, and the data as facts.
func DefaultCard(m connectors.Message) map[string]any {
	body := []any{}
	if t := strings.TrimSpace(m.Title); t != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": t, "weight": "Bolder", "size": "Medium",
			"wrap": true, "color": colour(m.Severity)})
	}
	if t := strings.TrimSpace(m.Text); t != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": t, "wrap": true})
	}
	details := notify.Details(m)
	var facts []any
	for _, k := range slices.Sorted(maps.Keys(details)) {
		if len(facts) == 10 {
			break
		}
		v, ok := details[k].(string)
		if !ok {
			b, _ := json.Marshal(details[k])
			v = string(b)
		}
		facts = append(facts, map[string]any{"title": k, "value": notify.Truncate(v, 200)})
	}
	if m.Severity != "" {
		facts = append([]any{map[string]any{"title": "severity", "value": m.Severity}}, facts...)
	}
	if len(facts) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	return map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": cardVersion, "body": body,
		"msteams": map[string]any{"width": "Full"},
	}
}

// colour is the TextBlock colour of a severity.
func colour(severity string) string {
	switch severity {
	case notify.SeverityCritical, notify.SeverityError:
		return "Attention"
	case notify.SeverityWarning:
		return "Warning"
	case notify.SeverityInfo:
		return "Good"
	}
	return "Default"
}
