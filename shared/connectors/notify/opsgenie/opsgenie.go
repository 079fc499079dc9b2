package opsgenie

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/notify"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Limits of the Alert API (its reference).
const (
	maxMessage     = 130
	maxAlias       = 512
	maxDescription = 15000
	maxSource      = 100
	maxNote        = 25000
	maxDetailValue = 1000
)

// CreateAlert is the body of POST /v2/alerts.
type CreateAlert struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Source      string            `json:"source,omitempty"`
	Priority    string            `json:"priority,omitempty"`
}

// CloseAlert is the body of POST /v2/alerts/{identifier}/close.
type CloseAlert struct {
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Accepted is the 202 answer of create and close.
type Accepted struct {
	Result    string  `json:"result"`
	Took      float64 `json:"took"`
	RequestID string  `json:"requestId"`
}

// errorBody is OpsGenie's error answer.
type errorBody struct {
	Message string            `json:"message"`
	Errors  map[string]string `json:"errors"`
}

// Connector is the OpsGenie connector of one integration revision.
type Connector struct {
	base          string
	source        string
	tags          []string
	schedule      string
	scheduleType  string
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Notifier   = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	u, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	if in.Integration.CredentialRef == "" {
		return nil, resilience.New(resilience.InvalidConfig, "OpsGenie needs credentialRef: the API key")
	}
	tags := cfg.Strings("tags")
	if len(tags) > maxTags {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"tags\" holds %d tags; OpsGenie takes at most %d", len(tags), maxTags)
	}
	c := &Connector{
		base: u.String(), source: notify.Truncate(cfg.String("source"), maxSource), tags: tags,
		schedule: cfg.String("schedule"), scheduleType: cfg.String("scheduleIdentifierType"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity reaches the API host: any HTTP answer passes.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.hc.Reach(ctx, "reach the OpsGenie API", c.base+"/")
	return err
}

// CheckAuthentication lists one alert: only a 401 fails it (a 403 means the
// key is known but may not read).
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	err := c.do(ctx, http.MethodGet, "/v2/alerts?limit=1", nil, nil)
	if resilience.CodeOf(err) == resilience.PermissionDenied {
		return nil
	}
	if err != nil {
		return fmt.Errorf("authenticate to OpsGenie: %w", err)
	}
	return nil
}

// CheckFunctionality looks up the schedule's on-call recipients, or lists
// alerts when no schedule is configured.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if c.schedule != "" {
		if _, err := c.OnCall(ctx, c.schedule, c.scheduleType); err != nil {
			return err
		}
		return nil
	}
	if err := c.do(ctx, http.MethodGet, "/v2/alerts?limit=1", nil, nil); err != nil {
		return fmt.Errorf("list OpsGenie alerts: %w", err)
	}
	return nil
}

// Notify creates an alert whose alias is the message's ThreadKey or, with
// Data action "resolve", closes the alert of that alias. It returns
// OpsGenie's requestId.
func (c *Connector) Notify(ctx context.Context, m connectors.Message) (string, error) {
	alias := Alias(m.ThreadKey)
	var out Accepted
	if notify.Action(m) == notify.ActionResolve {
		if alias == "" {
			return "", resilience.New(resilience.InvalidConfig, "closing an OpsGenie alert needs the thread key it was created with")
		}
		body := CloseAlert{Source: c.source, Note: notify.Truncate(strings.TrimSpace(m.Title+"\n"+m.Text), maxNote)}
		p := "/v2/alerts/" + url.PathEscape(alias) + "/close?identifierType=alias"
		if err := c.do(ctx, http.MethodPost, p, body, &out); err != nil {
			return "", fmt.Errorf("close the OpsGenie alert: %w", err)
		}
		return out.RequestID, nil
	}
	message := notify.Summary(m)
	if message == "" {
		return "", resilience.New(resilience.InvalidConfig, "an OpsGenie alert needs a title or text for its message")
	}
	body := CreateAlert{
		Message: notify.Truncate(message, maxMessage), Alias: alias,
		Description: notify.Truncate(m.Text, maxDescription), Tags: c.tags,
		Details: notify.FlatDetails(m, maxDetailValue), Source: c.source, Priority: Priority(m.Severity),
	}
	if len(body.Details) == 0 {
		body.Details = nil
	}
	if err := c.do(ctx, http.MethodPost, "/v2/alerts", body, &out); err != nil {
		return "", fmt.Errorf("create the OpsGenie alert: %w", err)
	}
	return out.RequestID, nil
}

// OnCall returns the current on-call recipients of a schedule.
func (c *Connector) OnCall(ctx context.Context, schedule, identifierType string) ([]string, error) {
	if identifierType == "" {
		identifierType = "id"
	}
	q := url.Values{"scheduleIdentifierType": {identifierType}, "flat": {"true"}}
	var out struct {
		Data struct {
			Recipients []string `json:"onCallRecipients"`
		} `json:"data"`
	}
	p := "/v2/schedules/" + url.PathEscape(schedule) + "/on-calls?" + q.Encode()
	if err := c.do(ctx, http.MethodGet, p, nil, &out); err != nil {
		return nil, fmt.Errorf("look up who is on call for %q: %w", schedule, err)
	}
	if out.Data.Recipients == nil {
		return []string{}, nil
	}
	return out.Data.Recipients, nil
}

// Discover lists the on-call recipients of the configured schedule,
// filtered by name pattern.
func (c *Connector) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if q.ResourceType != ResourceOnCall {
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported, "OpsGenie discovers %q only", ResourceOnCall)
	}
	if c.schedule == "" {
		return connectors.DiscoveryPage{}, resilience.New(resilience.InvalidConfig, "on-call discovery needs config field \"schedule\"")
	}
	pattern, err := kit.ParsePattern(q.Filter.NamePattern)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	who, err := c.OnCall(ctx, c.schedule, c.scheduleType)
	if err != nil {
		return connectors.DiscoveryPage{}, err
	}
	var page connectors.DiscoveryPage
	for _, name := range who {
		if !pattern.Match(name) {
			continue
		}
		page.Items = append(page.Items, contracts.Resource{Type: ResourceOnCall, Name: name,
			Attributes: map[string]any{"schedule": c.schedule}})
	}
	return page, nil
}

// Alias fits a thread key into an alias: as is up to 512 characters, else
// its SHA-256.
func Alias(threadKey string) string {
	if len(threadKey) <= maxAlias {
		return threadKey
	}
	sum := sha256.Sum256([]byte(threadKey))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Priority maps the hub's severities onto OpsGenie priorities.
func Priority(severity string) string {
	switch strings.ToLower(severity) {
	case notify.SeverityCritical:
		return "P1"
	case notify.SeverityError:
		return "P2"
	case notify.SeverityWarning:
		return "P3"
	case notify.SeverityInfo:
		return "P5"
	}
	return "P3"
}

// do sends one API call and decodes a 2xx answer into out.
func (c *Connector) do(ctx context.Context, method, p string, in, out any) error {
	auth, err := kit.Credential(ctx, c.credentials, c.credentialRef, "the OpsGenie API key", []string{connectors.CredAPIKey},
		kit.APIKeyAs(kit.Scheme{Header: "Authorization", Prefix: "GenieKey "}))
	if err != nil {
		return err
	}
	resp, err := c.hc.Send(ctx, kit.Request{Method: method, URL: c.base + p, JSON: in, Auth: auth})
	if err != nil {
		return err
	}
	defer kit.Drain(resp)
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out != nil && len(raw) > 0 {
			if err := json.Unmarshal(raw, out); err != nil {
				return resilience.Wrap(resilience.UpstreamError, err, "decode the OpsGenie answer")
			}
		}
		return nil
	}
	return c.failure(resp, raw)
}

// failure turns an error answer into a coded error. 422 (semantic errors)
// and 400 are INVALID_CONFIG; 429 honours Retry-After, else OpsGenie's
// X-RateLimit-Period-In-Sec.
func (c *Connector) failure(resp *http.Response, raw []byte) error {
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	msg := eb.Message
	for _, field := range slices.Sorted(maps.Keys(eb.Errors)) {
		msg += "; " + field + ": " + eb.Errors[field]
	}
	msg = notify.Truncate(msg, 512)
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return resilience.New(resilience.InvalidConfig, "OpsGenie refused the request (HTTP %d): %s", resp.StatusCode, msg)
	case http.StatusTooManyRequests:
		wait, ok := httpx.RetryAfter(resp.Header, c.hc.Now())
		if !ok {
			if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Period-In-Sec"))); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
		}
		return &resilience.Error{Code: resilience.RateLimited, RetryAfter: wait,
			Message: fmt.Sprintf("OpsGenie throttled the request (HTTP 429, retry after %s): %s", wait, msg)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if err := c.hc.Check(resp); err != nil {
		return err
	}
	return resilience.New(resilience.UpstreamError, "OpsGenie answered HTTP %d", resp.StatusCode)
}
