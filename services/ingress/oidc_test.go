package ingress

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
)

// testIssuer is an OpenID Connect issuer served over HTTPS by the test: a
// discovery document and a JWKS with a real RSA and a real EC public key.
// It signs tokens with the private halves (or with keys it does not
// publish, for the bad-signature case).
type testIssuer struct {
	srv       *httptest.Server
	rsaKey    *rsa.PrivateKey
	ecKey     *ecdsa.PrivateKey
	jwksCalls atomic.Int32
}

func newTestIssuer(t *testing.T) *testIssuer { return newTestIssuerTB(t) }

func newTestIssuerTB(t testing.TB) *testIssuer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{rsaKey: rsaKey, ecKey: ecKey}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/keys",
			"authorization_endpoint": iss.srv.URL + "/auth", "token_endpoint": iss.srv.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "none"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		iss.jwksCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &rsaKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
			{Key: &ecKey.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		}})
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

// caPEM is the issuer's certificate, for the ingress to trust.
func (i *testIssuer) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.srv.Certificate().Raw})
}

// sign returns a compact JWS of claims signed with key under kid.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned is the token an attacker writes by hand: alg none, no signature.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

const (
	oidcTenant      = "0193a0b4-0000-7000-8000-00000000000a"
	oidcOtherTenant = "0193a0b4-0000-7000-8000-00000000000b"
	oidcAudience    = "inthub"
)

// oidcServer is the ingress's authentication and the endpoints that show
// its outcome: whoami (any caller) and an operator-only endpoint.
func oidcServer(t *testing.T, cfg OIDCConfig, static *Tokens) http.Handler {
	t.Helper()
	h, _ := oidcServerLogging(t, cfg, static)
	return h
}

// oidcServerLogging is oidcServer with its log, where the reason of a
// refusal goes (the caller is told only that the token is not valid).
func oidcServerLogging(t *testing.T, cfg OIDCConfig, static *Tokens) (http.Handler, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	v, err := newOIDCVerifier(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{logger: logger, metrics: newHTTPMetrics(nil), tokens: static, oidc: v}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/whoami", s.authed(methods{http.MethodGet: s.whoami}))
	mux.Handle("/api/v1/operator/dlq", s.authed(s.operatorOnly(methods{http.MethodGet: func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"items": []any{}})
	}})))
	return s.observe(mux), logs
}

func TestOIDCTokens(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	loopback := httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	cfg := OIDCConfig{
		Issuer: iss.srv.URL, Audience: oidcAudience, Tenants: []string{oidcTenant},
		OperatorRoles: []string{"hub-admin"}, CACertPEM: iss.caPEM(), Policy: loopback,
	}
	static, err := NewTokens([]TokenEntry{{Principal: Principal{Name: "ci", TenantID: oidcOtherTenant}, SHA256: HashToken("static-token")}})
	if err != nil {
		t.Fatal(err)
	}
	h := oidcServer(t, cfg, static)

	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": iss.srv.URL, "sub": "user-42", "aud": []string{oidcAudience, "account"},
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "tenant_id": oidcTenant,
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaTok := func(edit func(map[string]any)) string { return sign(t, jose.RS256, iss.rsaKey, "rsa-1", claims(edit)) }

	tests := []struct {
		name     string
		token    string
		path     string
		status   int
		code     string
		wantKind string
		roles    []string
		// reason is what the refusal's log line must say: proof that
		// the token was refused for the check the case is about.
		reason string
	}{
		{name: "RSA-signed token of a tenant's user", token: rsaTok(nil), status: 200, wantKind: contracts.IdentityOIDC, roles: []string{}},
		{name: "EC-signed token of an operator", status: 200, wantKind: contracts.IdentityOIDC, roles: []string{RoleOperator},
			token: sign(t, jose.ES256, iss.ecKey, "ec-1", claims(func(c map[string]any) { c["roles"] = []string{"viewer", "hub-admin"} }))},
		{name: "roles as one space-separated string", status: 200, wantKind: contracts.IdentityOIDC, roles: []string{RoleOperator},
			token: rsaTok(func(c map[string]any) { c["roles"] = "viewer hub-admin" })},
		{name: "operator token opens operator endpoints", path: "/api/v1/operator/dlq", status: 200,
			token: rsaTok(func(c map[string]any) { c["roles"] = []string{"hub-admin"} })},
		{name: "tenant's token on an operator endpoint", path: "/api/v1/operator/dlq", status: 403, code: "FORBIDDEN", token: rsaTok(nil)},
		{name: "static token still accepted", token: "static-token", status: 200, wantKind: contracts.IdentityToken, roles: []string{}},
		{name: "expired", status: 401, code: "UNAUTHORIZED",
			token: rsaTok(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })},
		{name: "wrong audience", status: 401, code: "UNAUTHORIZED", reason: "expected audience",
			token: rsaTok(func(c map[string]any) { c["aud"] = "another-app" })},
		{name: "wrong issuer", status: 401, code: "UNAUTHORIZED", reason: "issued by a different provider",
			token: rsaTok(func(c map[string]any) { c["iss"] = "https://evil.example.com" })},
		{name: "unsigned (alg none)", status: 401, code: "UNAUTHORIZED", reason: "malformed jwt", token: unsigned(t, claims(nil))},
		{name: "bad signature (another key under the issuer's kid)", status: 401, code: "UNAUTHORIZED", reason: "failed to verify",
			token: sign(t, jose.RS256, otherRSA, "rsa-1", claims(nil))},
		{name: "signed with an unpublished key id", status: 401, code: "UNAUTHORIZED", reason: "failed to verify",
			token: sign(t, jose.RS256, otherRSA, "rsa-2", claims(nil))},
		{name: "tampered payload", status: 401, code: "UNAUTHORIZED", reason: "failed to verify", token: func() string {
			parts := strings.Split(rsaTok(nil), ".")
			forged, _ := json.Marshal(claims(func(c map[string]any) { c["roles"] = []string{"hub-admin"} }))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
		}()},
		{name: "another tenant's claim", status: 403, code: "FORBIDDEN",
			token: rsaTok(func(c map[string]any) { c["tenant_id"] = oidcOtherTenant })},
		{name: "no tenant claim", status: 403, code: "FORBIDDEN",
			token: rsaTok(func(c map[string]any) { delete(c, "tenant_id") })},
		{name: "tenant claim not a tenant id", status: 403, code: "FORBIDDEN",
			token: rsaTok(func(c map[string]any) { c["tenant_id"] = "acme" })},
		{name: "not a JWT nor a static token", token: "nope", status: 401, code: "UNAUTHORIZED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := tc.path
			if path == "" {
				path = "/api/v1/whoami"
			}
			h, logs := h, (*syncBuffer)(nil)
			if tc.reason != "" {
				h, logs = oidcServerLogging(t, cfg, static)
			}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.reason != "" && !strings.Contains(logs.String(), tc.reason) {
				t.Errorf("refused, but not for %q: %s", tc.reason, logs)
			}
			if logs != nil && strings.Contains(logs.String(), tc.token) {
				t.Error("the log holds the token")
			}
			if strings.Contains(rec.Body.String(), tc.token) {
				t.Fatal("the answer repeats the token")
			}
			if tc.code != "" {
				var body contracts.ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != tc.code || body.Message == "" {
					t.Fatalf("error body %s (%v), want the API's error shape with code %s", rec.Body, err, tc.code)
				}
				if tc.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			if tc.wantKind == "" {
				return
			}
			var id contracts.Identity
			if err := json.Unmarshal(rec.Body.Bytes(), &id); err != nil {
				t.Fatal(err)
			}
			if id.Kind != tc.wantKind || !slices.Equal(id.Roles, tc.roles) {
				t.Fatalf("identity %+v, want kind %s roles %v", id, tc.wantKind, tc.roles)
			}
			switch id.Kind {
			case contracts.IdentityOIDC:
				if id.Name != "user-42" || id.Subject != "user-42" || id.Issuer != iss.srv.URL || id.TenantID != oidcTenant ||
					id.ExpiresAt == nil || id.ExpiresAt.Unix() != now.Add(time.Hour).Unix() {
					t.Fatalf("identity %+v", id)
				}
			case contracts.IdentityToken:
				if id.Name != "ci" || id.TenantID != oidcOtherTenant || id.Subject != "" || id.ExpiresAt != nil {
					t.Fatalf("identity %+v", id)
				}
			}
		})
	}
}

// The issuer is fetched through the outbound guard: on loopback, without
// the operator allowing it, the ingress does not connect, and answers 503
// (the token's validity is unknown, not bad) rather than 401.
func TestOIDCIssuerBehindTheOutboundGuard(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t)
	h := oidcServer(t, OIDCConfig{Issuer: iss.srv.URL, Audience: oidcAudience, CACertPEM: iss.caPEM()}, nil)
	token := sign(t, jose.RS256, iss.rsaKey, "rsa-1", map[string]any{
		"iss": iss.srv.URL, "sub": "user-42", "aud": oidcAudience, "exp": time.Now().Add(time.Hour).Unix(), "tenant_id": oidcTenant,
	})
	req := httptest.NewRequest(http.MethodGet, "/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body contracts.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable || body.Code != "UNAVAILABLE" {
		t.Fatalf("got %d %s, want 503 UNAVAILABLE", rec.Code, rec.Body)
	}
	if n := iss.jwksCalls.Load(); n != 0 {
		t.Fatalf("the JWKS was fetched %d times past the guard", n)
	}
}

func TestOIDCConfigChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     OIDCConfig
		wantErr string
	}{
		{"http issuer", OIDCConfig{Issuer: "http://login.example.com", Audience: "a"}, "INTHUB_OIDC_ISSUER"},
		{"no audience", OIDCConfig{Issuer: "https://login.example.com"}, "INTHUB_OIDC_AUDIENCE"},
		{"tenant not a UUID", OIDCConfig{Issuer: "https://login.example.com", Audience: "a", Tenants: []string{"acme"}}, "INTHUB_OIDC_TENANTS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := newOIDCVerifier(tc.cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
}

// claimAt reads nested claims by a dotted name, as Keycloak puts roles.
func TestClaimAt(t *testing.T) {
	t.Parallel()
	claims := map[string]any{
		"realm_access": map[string]any{"roles": []any{"hub-admin"}},
		"dotted.name":  "flat",
	}
	tests := []struct {
		name string
		want []string
	}{
		{"realm_access.roles", []string{"hub-admin"}},
		{"dotted.name", []string{"flat"}},
		{"realm_access.missing", nil},
		{"missing.roles", nil},
	}
	for _, tc := range tests {
		if got := claimStrings(claimAt(claims, tc.name)); !slices.Equal(got, tc.want) {
			t.Errorf("claimAt(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// BenchmarkAuthenticate is the cost per request of each kind of token once
// the issuer's keys are cached: a static token is one hash lookup, an OIDC
// token one signature verification and a claims decode.
func BenchmarkAuthenticate(b *testing.B) {
	iss := newTestIssuerTB(b)
	v, err := newOIDCVerifier(OIDCConfig{Issuer: iss.srv.URL, Audience: oidcAudience, CACertPEM: iss.caPEM(),
		Policy: httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	static, err := NewTokens([]TokenEntry{{Principal: Principal{Name: "ci", TenantID: oidcTenant}, SHA256: HashToken("static-token")}})
	if err != nil {
		b.Fatal(err)
	}
	s := &server{tokens: static, oidc: v}
	claims := map[string]any{"iss": iss.srv.URL, "sub": "u", "aud": oidcAudience, "exp": time.Now().Add(time.Hour).Unix(), "tenant_id": oidcTenant}
	for _, tc := range []struct{ name, token string }{
		{"static", "static-token"},
		{"oidc RS256", sign(b, jose.RS256, iss.rsaKey, "rsa-1", claims)},
		{"oidc ES256", sign(b, jose.ES256, iss.ecKey, "ec-1", claims)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := s.authenticate(ctx, tc.token); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.authenticate(ctx, tc.token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
