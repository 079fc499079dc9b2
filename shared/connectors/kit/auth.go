package kit

import (
	"context"
	"encoding/base64"
	"maps"
	"net/http"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Auth is a credential as a request header. The zero Auth sends nothing.
// Its value is a secret: it goes on requests and nowhere else.
type Auth struct {
	Header, Value string
}

// IsZero reports whether a carries no credential.
func (a Auth) IsZero() bool { return a.Header == "" }

func (a Auth) apply(h http.Header) {
	if !a.IsZero() {
		h.Set(a.Header, a.Value)
	}
}

// Basic is HTTP Basic authentication (RFC 7617).
func Basic(user, password string) Auth {
	return Auth{Header: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

// Bearer is a bearer token (RFC 6750).
func Bearer(token string) Auth { return Auth{Header: "Authorization", Value: "Bearer " + token} }

// Scheme says how a token or API key is sent: in Header, after Prefix.
type Scheme struct{ Header, Prefix string }

// Common schemes; providers name their own with Scheme{...}.
var (
	// BearerScheme is "Authorization: Bearer <value>".
	BearerScheme = Scheme{Header: "Authorization", Prefix: "Bearer "}
)

// Render puts value in the scheme's header.
func (s Scheme) Render(value string) Auth { return Auth{Header: s.Header, Value: s.Prefix + value} }

// AuthOption changes how FromSecret renders a credential.
type AuthOption func(*authRules)

type authRules struct {
	token, apiKey Scheme
}

// TokenAs sends token credentials in s (default BearerScheme): GitLab's
// PRIVATE-TOKEN header, PagerDuty's "Token token=".
func TokenAs(s Scheme) AuthOption { return func(r *authRules) { r.token = s } }

// APIKeyAs sends api-key credentials in s (default BearerScheme):
// OpsGenie's "Authorization: GenieKey <key>", an X-API-Key header.
func APIKeyAs(s Scheme) AuthOption { return func(r *authRules) { r.apiKey = s } }

// FromSecret renders s as the first of types (connectors.CredBasic,
// CredToken, CredAPIKey) it holds. Keys that name a type (username and
// password, token, apiKey) win over the single "value" shorthand, which is
// read in the order of types: {"value": "u:p"} is Basic when basic comes
// first and a token otherwise. what names the credential in errors, which
// never quote a value.
func FromSecret(s credentials.Secret, what string, types []string, opts ...AuthOption) (Auth, error) {
	rules := authRules{token: BearerScheme, apiKey: BearerScheme}
	for _, o := range opts {
		o(&rules)
	}
	explicit := maps.Clone(s)
	delete(explicit, "value")
	for _, candidate := range []credentials.Secret{explicit, s} {
		for _, t := range types {
			a, ok := render(candidate, t, rules)
			if !ok {
				continue
			}
			if strings.ContainsFunc(a.Value, isCTL) {
				return Auth{}, resilience.New(resilience.InvalidConfig, "%s hold a control character (a line break?), which no header can carry", what)
			}
			return a, nil
		}
	}
	return Auth{}, resilience.New(resilience.InvalidConfig, "%s hold no %s credential (%s)", what, strings.Join(types, " or "), shapes(types))
}

// render reads s as one credential type.
func render(s credentials.Secret, t string, rules authRules) (Auth, bool) {
	switch t {
	case connectors.CredBasic:
		if user, password, err := s.Basic(); err == nil {
			return Basic(user, password), true
		}
	case connectors.CredToken:
		if token, err := s.Token(); err == nil {
			return rules.token.Render(token), true
		}
	case connectors.CredAPIKey:
		if key, err := s.APIKey(); err == nil {
			return rules.apiKey.Render(key), true
		}
	}
	return Auth{}, false
}

// shapes names the keys each type needs, for an operator fixing the secret.
func shapes(types []string) string {
	out := make([]string, 0, len(types))
	for _, t := range types {
		if s, ok := credentials.Shapes[t]; ok {
			out = append(out, t+": "+s)
		}
	}
	return strings.Join(out, "; ")
}

// isCTL reports an RFC 9110 control character (HTAB is allowed in a field
// value).
func isCTL(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

// Credential resolves ref and renders it with FromSecret; an empty ref is
// the zero Auth (anonymous access).
func Credential(ctx context.Context, src connectors.CredentialSource, ref, what string, types []string, opts ...AuthOption) (Auth, error) {
	if ref == "" {
		return Auth{}, nil
	}
	s, err := Resolve(ctx, src, ref, what)
	if err != nil {
		return Auth{}, err
	}
	return FromSecret(s, what, types, opts...)
}
