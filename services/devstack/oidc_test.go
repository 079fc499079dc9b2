package devstack_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
)

// TestOIDCThroughTheHub: with an OIDC issuer configured, the whole hub
// takes the issuer's JWTs: a tenant's user creates and reads its
// integrations, another tenant's user does not see them (404, as with
// static tokens), whoami says who each is, an operator role claim opens the
// operator endpoints, and the dev token keeps working beside them.
func TestOIDCThroughTheHub(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": issuer + "/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	idp := httptest.NewTLSServer(mux)
	t.Cleanup(idp.Close)
	issuer = idp.URL
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := func(sub, tenant string, roles ...string) string {
		payload, _ := json.Marshal(map[string]any{"iss": issuer, "aud": "inthub", "sub": sub, "exp": time.Now().Add(time.Hour).Unix(),
			"org": map[string]any{"id": tenant}, "groups": roles})
		obj, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := obj.CompactSerialize()
		return raw
	}

	cfg := devstack.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
		Policy: httpx.GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	cfg.Services.Ingress.OIDC = ingress.OIDCConfig{
		Issuer: issuer, Audience: "inthub", TenantClaim: "org.id", RolesClaim: "groups", OperatorRoles: []string{"hub-admins"},
		CACertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate().Raw}),
	}
	info := runStack(t, cfg)
	s := &stack{t: t, base: "http://" + info.HTTPAddr, info: info}

	alice, bob := token("alice", devstack.DevTenantID), token("bob", tenantB)
	ops := token("olga", tenantB, "hub-admins")
	r := s.call("POST", "/api/v1/integrations", alice, map[string]any{"typeId": "webhook", "name": "alice's hook", "config": map[string]any{"url": "https://hooks.example.com/alice"}})
	if r.status != http.StatusCreated {
		t.Fatalf("alice's create: %d %s", r.status, r.body)
	}
	var it contracts.Integration
	r.decode(&it)
	tests := []struct {
		name, method, path, token string
		status                    int
		who                       *contracts.Identity
	}{
		{"alice reads her integration", "GET", "/api/v1/integrations/" + it.ID, alice, 200, nil},
		{"bob of another tenant does not see it", "GET", "/api/v1/integrations/" + it.ID, bob, 404, nil},
		{"the dev token sees it (same tenant)", "GET", "/api/v1/integrations/" + it.ID, info.Token, 200, nil},
		{"bob is not an operator", "GET", "/api/v1/operator/dlq", bob, 403, nil},
		{"olga's group makes her one", "GET", "/api/v1/operator/dlq", ops, 200, nil},
		{"whoami alice", "GET", "/api/v1/whoami", alice, 200,
			&contracts.Identity{Kind: "oidc", Name: "alice", Subject: "alice", Issuer: issuer, TenantID: devstack.DevTenantID, Roles: []string{}}},
		{"whoami olga", "GET", "/api/v1/whoami", ops, 200,
			&contracts.Identity{Kind: "oidc", Name: "olga", Subject: "olga", Issuer: issuer, TenantID: tenantB, Roles: []string{"operator"}}},
		{"whoami the dev token", "GET", "/api/v1/whoami", info.Token, 200,
			&contracts.Identity{Kind: "token", Name: "dev", TenantID: devstack.DevTenantID, Roles: []string{"operator"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(tc.method, tc.path, tc.token, nil)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.who == nil {
				return
			}
			var got contracts.Identity
			r.decode(&got)
			if got.ExpiresAt != nil {
				if tc.who.Kind != "oidc" || time.Until(*got.ExpiresAt) < 50*time.Minute {
					t.Errorf("expiresAt %v", got.ExpiresAt)
				}
				got.ExpiresAt = nil
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tc.who)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("whoami %s, want %s", gotJSON, wantJSON)
			}
		})
	}
	// The audit record of alice's create names her subject and issuer;
	// olga, an operator of another tenant, reads it with tenantId.
	recs, _ := s.auditOf(alice, "resourceId="+it.ID, 1)
	if a := recs[0].Actor; a == nil || *a != (contracts.Actor{Kind: contracts.ActorOIDC, Name: "alice", Issuer: issuer}) || recs[0].Action != contracts.AuditCreated {
		t.Fatalf("alice's create recorded as %+v by %+v", recs[0], recs[0].Actor)
	}
	s.auditOf(ops, "tenantId="+devstack.DevTenantID+"&actor=alice", 1)
	s.auditOf(bob, "actor=alice", 0)
}
