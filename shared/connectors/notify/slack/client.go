package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the Slack connector of one integration revision. It keeps
// no token: each call resolves the credential reference.
type Connector struct {
	api            *url.URL
	workspace      string
	defaultChannel string
	iconEmoji      string
	channelTypes   []string
	credentialRef  string
	credentials    connectors.CredentialSource
	hc             kit.Client
}

var (
	_ connectors.Checker    = (*Connector)(nil)
	_ connectors.Discoverer = (*Connector)(nil)
	_ connectors.Notifier   = (*Connector)(nil)
)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	api, err := kit.ParseBaseURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	types := cfg.Strings("channelTypes")
	for _, t := range types {
		if !slices.Contains(knownTypes, t) {
			return nil, resilience.New(resilience.InvalidConfig, "config field \"channelTypes\": %q is not one of %s", t, strings.Join(knownTypes, ", "))
		}
	}
	c := &Connector{
		api: api, workspace: cfg.String("workspace"), defaultChannel: cfg.String("defaultChannel"),
		iconEmoji: cfg.String("iconEmoji"), channelTypes: types,
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.hc, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	return c, nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// call is one Web API method call: form arguments, or a JSON body.
type call struct {
	method    string
	form      url.Values
	json      any
	anonymous bool
}

// envelope is what every answer holds besides the method's own fields.
type envelope struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	Needed           string `json:"needed"`
	ResponseMetadata struct {
		NextCursor string `json:"next_cursor"`
	} `json:"response_metadata"`
}

// do calls a method and decodes an ok answer into out (which may embed
// envelope fields it needs); HTTP errors and ok:false are coded errors.
func (c *Connector) do(ctx context.Context, r call, out any) error {
	req := kit.Request{Method: http.MethodPost, URL: kit.Endpoint(c.api, "/"+r.method, nil), Form: r.form}
	if r.form == nil {
		req.Form = url.Values{}
	}
	if r.json != nil {
		req.JSON, req.Form = r.json, nil
		req.Header = http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	}
	if !r.anonymous {
		var err error
		if req.Auth, err = c.token(ctx); err != nil {
			return err
		}
	}
	var raw json.RawMessage
	resp, err := c.hc.Call(ctx, "slack "+r.method, req, &raw)
	if err != nil {
		return err
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return resilience.Wrap(resilience.UpstreamError, err, "slack %s: the answer is not Slack's JSON", r.method)
	}
	if !env.OK {
		return apiError(r.method, env, resp.Header, c.hc.Now())
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resilience.Wrap(resilience.UpstreamError, err, "slack %s: unexpected answer", r.method)
		}
	}
	return nil
}

// token resolves the bot token for one call.
func (c *Connector) token(ctx context.Context) (kit.Auth, error) {
	auth, err := kit.Credential(ctx, c.credentials, c.credentialRef, "the Slack credentials", []string{connectors.CredToken})
	if err == nil && strings.ContainsAny(strings.TrimPrefix(auth.Value, "Bearer "), " \t") {
		// Slack tokens (xoxb-...) never hold a space; one there is a paste error.
		return kit.Auth{}, resilience.New(resilience.InvalidConfig, "the Slack token holds whitespace")
	}
	return auth, err
}

// The Web API's error codes by what they mean for the hub.
var (
	authErrors = []string{"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
		"no_such_token", "org_login_required", "two_factor_setup_required"}
	permissionErrors = []string{"missing_scope", "not_allowed_token_type", "no_permission", "access_denied",
		"restricted_action", "not_in_channel", "ekm_access_denied", "team_access_not_granted", "enterprise_is_restricted"}
	notFoundErrors  = []string{"channel_not_found", "message_not_found", "thread_not_found", "user_not_found"}
	rateLimitErrors = []string{"ratelimited", "rate_limited", "message_limit_exceeded"}
	invalidErrors   = []string{"invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text",
		"too_many_attachments", "is_archived", "invalid_arguments", "invalid_arg_name", "invalid_array_arg", "invalid_charset",
		"invalid_form_data", "invalid_post_type", "missing_post_type", "invalid_json", "json_not_object", "invalid_cursor",
		"invalid_limit", "invalid_types", "method_not_supported_for_channel_type", "invalid_name", "bad_timestamp",
		"no_item_specified", "too_many_emoji", "too_many_reactions", "cannot_reply_to_message", "unknown_method",
		"invalid_thread_ts", "upgrade_required"}
)

// codeOf maps a Web API error code to the hub's.
func codeOf(slackCode string) resilience.Code {
	switch {
	case slices.Contains(authErrors, slackCode):
		return resilience.AuthenticationFailed
	case slices.Contains(permissionErrors, slackCode):
		return resilience.PermissionDenied
	case slices.Contains(notFoundErrors, slackCode):
		return resilience.ResourceNotFound
	case slices.Contains(rateLimitErrors, slackCode):
		return resilience.RateLimited
	case slices.Contains(invalidErrors, slackCode):
		return resilience.InvalidConfig
	}
	return resilience.UpstreamError
}

// APIError is an ok:false answer: the method and Slack's error code (and
// the scope a missing_scope names). Codes are short identifiers, never
// secrets.
type APIError struct {
	Method, Code, Needed string
}

// Error renders the code, and the scope to add for missing_scope.
func (e *APIError) Error() string {
	if e.Needed != "" {
		return e.Code + " (the token needs scope " + e.Needed + ")"
	}
	return e.Code
}

// apiError codes an ok:false answer; a rate limit carries Retry-After.
func apiError(method string, env envelope, h http.Header, now time.Time) error {
	ae := &APIError{Method: method, Code: safeCode(env.Error)}
	if ae.Code == "" {
		ae.Code = "unknown_error"
	}
	if ae.Code == "missing_scope" {
		ae.Needed = safeCode(env.Needed)
	}
	e := &resilience.Error{Code: codeOf(ae.Code), Message: "slack " + method, Err: ae}
	if e.Code == resilience.RateLimited {
		e.RetryAfter, _ = httpx.RetryAfter(h, now)
	}
	return e
}

// safeCode keeps an error code to the characters Slack uses for them.
func safeCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || r == '.' || r == ',' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return -1
	}, s)
	return s[:min(len(s), 100)]
}
