package kit

import (
	"net/url"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/resilience"
)

// URLOption changes what ParseBaseURL and ParseTargetURL accept.
type URLOption func(*urlRules)

type urlRules struct {
	httpsOnly bool
	noun      string
}

// HTTPSOnly refuses plain http: for URLs that credentials are sent to and
// that have no business being clear text (Entra ID authorities, webhooks).
func HTTPSOnly() URLOption { return func(r *urlRules) { r.httpsOnly = true } }

// Named makes errors say noun (`the Teams webhook URL`) instead of
// `config field "<field>"`, for URLs read from a secret.
func Named(noun string) URLOption { return func(r *urlRules) { r.noun = noun } }

// ParseBaseURL reads a provider's base URL: absolute http(s) with a host,
// no user info (credentials go in credentialRef), no query or fragment. The
// path (a prefix such as /gitlab or /api/v3) is kept without its trailing
// slashes, so Endpoint can append API paths. field names the config field
// in errors; the value is never quoted.
func ParseBaseURL(field, raw string, opts ...URLOption) (*url.URL, error) {
	u, err := parseURL(field, raw, false, opts)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	if u.RawPath != "" && u.RawPath != u.EscapedPath() {
		u.RawPath = "" // not a valid encoding of Path: let url re-escape it
	}
	return u, nil
}

// ParseTargetURL reads a URL requests are sent to as it is (a webhook): the
// rules of ParseBaseURL, except that a query is allowed and the path is
// kept exactly.
func ParseTargetURL(field, raw string, opts ...URLOption) (*url.URL, error) {
	return parseURL(field, raw, true, opts)
}

func parseURL(field, raw string, allowQuery bool, opts []URLOption) (*url.URL, error) {
	rules := urlRules{noun: `config field "` + field + `"`}
	for _, o := range opts {
		o(&rules)
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, resilience.New(resilience.InvalidConfig, "%s is required", rules.noun)
	}
	// The declarations' rule, so that what a save accepts also builds.
	u, err := connectors.ParseURL(raw, connectors.URLShape{HTTPSOnly: rules.httpsOnly, Query: allowQuery})
	if err != nil {
		return nil, resilience.New(resilience.InvalidConfig, "%s %s", rules.noun, err.Error())
	}
	return u, nil
}
