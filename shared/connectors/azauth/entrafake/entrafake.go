// Package entrafake is the Microsoft Entra ID of the hub's Azure protocol
// fakes (tests only): OpenID discovery and the client credentials grant at
// /<tenant>/oauth2/v2.0/token, checking the client id and secret and the
// requested scope and answering with Entra ID's error bodies (AADSTS
// codes), and the tokens it issued looked up by the service fakes.
package entrafake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Entra is one tenant's token endpoint. Use New.
type Entra struct {
	tenant   string
	base     func() string
	resource string // the scope a token must ask for: <resource>/.default

	mu      sync.Mutex
	clients map[string]string // client id -> secret
	tokens  map[string]string // token -> client id
	issued  int
}

// New returns the tenant's endpoint, served under base(), issuing tokens
// for resource (e.g. https://vault.azure.net).
func New(tenant string, base func() string, resource string) *Entra {
	return &Entra{tenant: tenant, base: base, resource: resource, clients: map[string]string{}, tokens: map[string]string{}}
}

// AddClient registers an application and its secret.
func (e *Entra) AddClient(id, secret string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clients[id] = secret
}

// Lookup reads a bearer token (with or without "Bearer "): the client it
// was issued to.
func (e *Entra) Lookup(token string) (clientID string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	clientID, ok = e.tokens[strings.TrimPrefix(token, "Bearer ")]
	return clientID, ok
}

// Issued is the number of tokens issued.
func (e *Entra) Issued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issued
}

// Serve answers r if it is one of Entra ID's paths and reports whether it
// was.
func (e *Entra) Serve(w http.ResponseWriter, r *http.Request) bool {
	base := e.base()
	switch {
	case r.URL.Path == "/"+e.tenant+"/v2.0/.well-known/openid-configuration":
		WriteJSON(w, 200, map[string]any{
			"token_endpoint":                        base + "/" + e.tenant + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/" + e.tenant + "/oauth2/v2.0/authorize",
			"issuer":                                base + "/" + e.tenant + "/v2.0",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		})
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		WriteJSON(w, 400, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found. Trace ID: 1"})
	case r.URL.Path == "/"+e.tenant+"/oauth2/v2.0/token":
		e.token(w, r)
	default:
		return false
	}
	return true
}

func (e *Entra) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		WriteJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the following parameter: 'grant_type'."})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	form := r.PostForm
	id, secret := form.Get("client_id"), form.Get("client_secret")
	want, known := e.clients[id]
	switch {
	case form.Get("grant_type") != "client_credentials":
		WriteJSON(w, 400, map[string]any{"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type."})
	case !known:
		WriteJSON(w, 400, map[string]any{"error": "unauthorized_client", "error_description": fmt.Sprintf(
			"AADSTS700016: Application with identifier '%s' was not found in the directory. Trace ID: 0\r\nCorrelation ID: 1\r\nTimestamp: 2026-01-01 00:00:00Z", id),
			"error_codes": []int{700016}})
	case secret != want:
		WriteJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: 0\r\nCorrelation ID: 1",
			"error_codes": []int{7000215}})
	case !e.validScope(form.Get("scope")):
		WriteJSON(w, 400, map[string]any{"error": "invalid_scope", "error_description": "AADSTS70011: The provided value for the input parameter 'scope' is not valid."})
	default:
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		tok := "eyJ0eXAiOiJKV1QifQ." + hex.EncodeToString(b)
		e.tokens[tok] = id
		e.issued++
		WriteJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

// validScope accepts the resource's .default scope, alongside the OpenID
// scopes MSAL adds.
func (e *Entra) validScope(scope string) bool {
	found := false
	for _, s := range strings.Fields(scope) {
		switch s {
		case e.resource + "/.default":
			found = true
		case "openid", "offline_access", "profile":
		default:
			return false
		}
	}
	return found
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
