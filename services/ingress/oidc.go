package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Defaults of the OIDC claims, as docs/configuration.md lists them.
const (
	DefaultTenantClaim  = "tenant_id"
	DefaultRolesClaim   = "roles"
	DefaultOperatorRole = "inthub-operator"
)

// OIDCConfig lets the ingress accept the JWT bearer tokens of one OpenID
// Connect issuer beside its static tokens. The zero value (no Issuer) is off.
type OIDCConfig struct {
	// Issuer is the issuer URL (https), exactly as the tokens' iss claim and
	// the discovery document at <Issuer>/.well-known/openid-configuration say.
	Issuer string
	// Audience must be one of a token's aud values (the hub's client id).
	Audience string
	// TenantClaim names the claim holding the caller's tenant id (a UUID);
	// RolesClaim the claim holding its roles (an array of strings or one
	// space-separated string). A dotted name reads a nested claim
	// (realm_access.roles).
	TenantClaim, RolesClaim string
	// OperatorRoles are the roles-claim values that make the caller a hub
	// operator (RoleOperator).
	OperatorRoles []string
	// TenantRoles, when set, are the roles-claim values of which a token
	// must hold one (or an operator role) to use the API at all: the
	// issuer's other users are refused 403.
	TenantRoles []string
	// Tenants, when set, are the only tenants the issuer may name: a token
	// naming another is refused 403.
	Tenants []string
	// CACertPEM trusts a private CA for the issuer's HTTPS (on-premises IdPs).
	CACertPEM []byte
	// Policy is the outbound guard of the discovery and JWKS fetches: an
	// issuer on a private network needs its range allowed
	// (INTHUB_ALLOWED_CIDRS) like any other internal destination.
	Policy httpx.GuardPolicy
	// Now is the clock tokens' expiry is judged by (default time.Now).
	Now func() time.Time
}

// Enabled reports whether an issuer is configured.
func (c OIDCConfig) Enabled() bool { return c.Issuer != "" }

// check refuses a configuration that cannot work, naming the variable.
func (c OIDCConfig) check() error {
	if !c.Enabled() {
		return nil
	}
	if c.Audience == "" {
		return errors.New("INTHUB_OIDC_AUDIENCE is required with INTHUB_OIDC_ISSUER: the client id the hub's tokens are issued for")
	}
	return errors.Join(c.checkIssuer(), c.checkTenants())
}

// checkIssuer refuses an issuer that is not an https URL ("" is off).
func (c OIDCConfig) checkIssuer() error {
	if c.Issuer == "" {
		return nil
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("INTHUB_OIDC_ISSUER=%q: want the issuer's https URL, e.g. https://login.example.com/realms/hub", c.Issuer)
	}
	return nil
}

// checkTenants refuses a tenant that is not a tenant id.
func (c OIDCConfig) checkTenants() error {
	for _, t := range c.Tenants {
		if _, err := uuid.Parse(t); err != nil {
			return fmt.Errorf("INTHUB_OIDC_TENANTS: %q is not a tenant id (a UUID)", t)
		}
	}
	return nil
}

func (c OIDCConfig) withDefaults() OIDCConfig {
	if c.TenantClaim == "" {
		c.TenantClaim = DefaultTenantClaim
	}
	if c.RolesClaim == "" {
		c.RolesClaim = DefaultRolesClaim
	}
	if c.OperatorRoles == nil {
		c.OperatorRoles = []string{DefaultOperatorRole}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// signingAlgs are the asymmetric algorithms a token may be signed with:
// never "none", never an HMAC whose key would be the public JWKS.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// discoveryRetry is how long a failed discovery is remembered before the
// next request tries again, so an unreachable issuer is not asked per request.
const discoveryRetry = 10 * time.Second

// oidcVerifier turns an issuer's JWTs into principals. Discovery runs on
// the first token, not at start, so the ingress serves its static tokens
// while the identity provider is down.
type oidcVerifier struct {
	cfg    OIDCConfig
	client *http.Client
	logger *slog.Logger

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	lastTry  time.Time
	lastErr  error
}

func newOIDCVerifier(cfg OIDCConfig, logger *slog.Logger) (*oidcVerifier, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// The hub's one guarded client: the issuer is an outbound destination
	// like any integration's. A low request rate bounds what tokens with
	// unknown key ids (each of which makes go-oidc fetch the JWKS) can make
	// the ingress send the issuer.
	c, err := httpx.New(httpx.Options{Timeout: 10 * time.Second, Policy: cfg.Policy, CACertPEM: cfg.CACertPEM, RateLimit: 2, RateBurst: 4})
	if err != nil {
		return nil, fmt.Errorf("OIDC client: %w", err)
	}
	return &oidcVerifier{cfg: cfg, client: c.HTTPClient(), logger: logger}, nil
}

// ready returns the token verifier, discovering the issuer on first use.
func (v *oidcVerifier) ready(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	now := time.Now()
	if !v.lastTry.IsZero() && now.Sub(v.lastTry) < discoveryRetry {
		return nil, v.lastErr
	}
	v.lastTry = now
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(oidc.ClientContext(dctx, v.client), v.cfg.Issuer)
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err == nil {
		if err = provider.Claims(&meta); err == nil && meta.JWKSURL == "" {
			err = errors.New("the discovery document has no jwks_uri")
		}
	}
	if err != nil {
		v.lastErr = resilience.WrapDefault(resilience.UpstreamError, err, "OIDC discovery of %s", v.cfg.Issuer)
		v.logger.WarnContext(ctx, "OIDC discovery failed", "issuer", v.cfg.Issuer, "error", err.Error())
		return nil, v.lastErr
	}
	keys := reportingKeySet{inner: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), v.client), meta.JWKSURL)}
	v.verifier = oidc.NewVerifier(v.cfg.Issuer, keys, &oidc.Config{
		ClientID: v.cfg.Audience, SupportedSigningAlgs: signingAlgs, Now: v.cfg.Now,
	})
	v.logger.InfoContext(ctx, "OIDC issuer discovered", "issuer", v.cfg.Issuer, "jwks_uri", meta.JWKSURL)
	return v.verifier, nil
}

// keyFetch is where reportingKeySet leaves a failure to fetch the JWKS,
// which go-oidc flattens into text on its way out of Verify.
type keyFetch struct{ err error }

type keyFetchKey struct{}

// reportingKeySet is the issuer's remote key set, reporting fetch failures
// (the issuer down, or refused by the outbound guard) so the caller hears
// 503 rather than "your token is bad".
type reportingKeySet struct{ inner oidc.KeySet }

func (k reportingKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	// go-oidc wraps (%w) only the errors of fetching keys; a signature no
	// key verifies and a malformed token are plain errors.
	if err != nil && errors.Unwrap(err) != nil {
		if f, ok := ctx.Value(keyFetchKey{}).(*keyFetch); ok {
			f.err = err
		}
	}
	return payload, err
}

// Verify checks a JWT and returns its principal. Errors are the API's:
// 401 for a token that is not valid, 403 for a valid one that may not use
// the API (no tenant, another tenant, no role), 503 when the issuer cannot
// be reached.
func (v *oidcVerifier) Verify(ctx context.Context, raw string) (Principal, error) {
	verifier, err := v.ready(ctx)
	if err != nil {
		return Principal{}, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the identity provider cannot be reached to check the token; try again later")
	}
	fetch := &keyFetch{}
	tok, err := verifier.Verify(context.WithValue(ctx, keyFetchKey{}, fetch), raw)
	if err != nil {
		if fetch.err != nil {
			v.logger.WarnContext(ctx, "OIDC keys could not be fetched", "issuer", v.cfg.Issuer, "error", fetch.err.Error())
			return Principal{}, apierr.New(http.StatusServiceUnavailable, apierr.Unavailable, "the identity provider's keys cannot be fetched to check the token; try again later")
		}
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Principal{}, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "the bearer token has expired")
		}
		// Why is for the operator's log: the caller learns only that the
		// token is refused, not which check to work around.
		v.logger.InfoContext(ctx, "OIDC token refused", "issuer", v.cfg.Issuer, "reason", err.Error())
		return Principal{}, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "the bearer token is not valid")
	}
	if tok.Subject == "" {
		return Principal{}, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "the bearer token is not valid: it has no subject")
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, apierr.New(http.StatusUnauthorized, apierr.Unauthorized, "the bearer token's claims cannot be read")
	}
	return v.principal(tok, claims)
}

// principal maps a verified token's claims to the hub's tenant and roles.
func (v *oidcVerifier) principal(tok *oidc.IDToken, claims map[string]any) (Principal, error) {
	tenant, _ := claimAt(claims, v.cfg.TenantClaim).(string)
	if tenant == "" {
		return Principal{}, apierr.New(http.StatusForbidden, apierr.Forbidden, "the token names no tenant (claim %q)", v.cfg.TenantClaim)
	}
	if _, err := uuid.Parse(tenant); err != nil {
		return Principal{}, apierr.New(http.StatusForbidden, apierr.Forbidden, "the token's tenant (claim %q) is not a tenant id", v.cfg.TenantClaim)
	}
	if len(v.cfg.Tenants) > 0 && !slices.Contains(v.cfg.Tenants, tenant) {
		return Principal{}, apierr.New(http.StatusForbidden, apierr.Forbidden, "the token's issuer may not act for its tenant")
	}
	held := claimStrings(claimAt(claims, v.cfg.RolesClaim))
	p := Principal{Name: tok.Subject, Subject: tok.Subject, Issuer: tok.Issuer, Expiry: tok.Expiry, TenantID: tenant}
	if slices.ContainsFunc(held, func(r string) bool { return slices.Contains(v.cfg.OperatorRoles, r) }) {
		p.Roles = []string{RoleOperator}
	}
	if len(v.cfg.TenantRoles) > 0 && len(p.Roles) == 0 &&
		!slices.ContainsFunc(held, func(r string) bool { return slices.Contains(v.cfg.TenantRoles, r) }) {
		return Principal{}, apierr.New(http.StatusForbidden, apierr.Forbidden, "the token holds none of the roles that open the API (claim %q)", v.cfg.RolesClaim)
	}
	return p, nil
}

// claimAt reads a claim by name, a dotted name reading nested objects
// (Keycloak's realm_access.roles). A claim whose own name has a dot is
// found first.
func claimAt(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	head, rest, ok := strings.Cut(name, ".")
	if !ok {
		return nil
	}
	inner, _ := claims[head].(map[string]any)
	if inner == nil {
		return nil
	}
	return claimAt(inner, rest)
}

// claimStrings reads a roles claim: an array of strings or one
// space-separated string (as OAuth's scope is).
func claimStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// looksLikeJWT reports whether a bearer token has a JWS compact form's
// three parts, the only shape worth handing the issuer's verifier.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }
