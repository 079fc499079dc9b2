package azurekv

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const fakeTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// fakeAzure is a protocol fake of Microsoft Entra ID (OpenID discovery and
// the client credentials grant at /<tenant>/oauth2/v2.0/token) and of Key
// Vault's secrets API, on one TLS server, checking what they check: the
// client id and secret and the requested scope; a Bearer token it issued
// on every vault call, else a 401 with Key Vault's challenge (authorization
// and resource); the api-version query parameter; and answering with Key
// Vault's error bodies (SecretNotFound, Forbidden, Throttled with
// Retry-After) and Entra ID's (AADSTS codes).
type fakeAzure struct {
	srv *httptest.Server

	mu       sync.Mutex
	clients  map[string]string // client id -> secret
	allow    map[string][]string
	tokens   map[string]string // token -> client id
	secrets  map[string][]azVersion
	throttle int
	// retryAfter is the Retry-After of a throttled answer; 0 means 3.
	retryAfter int
	calls      map[string]int
}

type azVersion struct {
	id, value string
	enabled   bool
}

func startAzure(t testing.TB) *fakeAzure {
	f := &fakeAzure{clients: map[string]string{}, allow: map[string][]string{}, tokens: map[string]string{},
		secrets: map[string][]azVersion{}, calls: map[string]int{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// caPEM is the fake's certificate, for the integration's caCert.
func (f *fakeAzure) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}))
}

func (f *fakeAzure) addClient(id, secret string, allow ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients[id] = secret
	if allow != nil {
		f.allow[id] = allow
	}
}

func (f *fakeAzure) put(name, value string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	f.secrets[name] = append(f.secrets[name], azVersion{id: id, value: value, enabled: true})
	return id
}

func (f *fakeAzure) count(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[what]
}

func (f *fakeAzure) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	base := f.srv.URL
	switch {
	case r.URL.Path == "/"+fakeTenant+"/v2.0/.well-known/openid-configuration":
		f.json(w, 200, map[string]any{
			"token_endpoint":                        base + "/" + fakeTenant + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/" + fakeTenant + "/oauth2/v2.0/authorize",
			"issuer":                                base + "/" + fakeTenant + "/v2.0",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		})
		return
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		f.json(w, 400, map[string]any{"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found. Trace ID: 1"})
		return
	case r.URL.Path == "/"+fakeTenant+"/oauth2/v2.0/token":
		f.calls["token"]++
		f.token(w, r)
		return
	case r.URL.Path == "/secrets" || strings.HasPrefix(r.URL.Path, "/secrets/"):
		f.vault(w, r)
		return
	}
	http.NotFound(w, r)
}

func (f *fakeAzure) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		f.json(w, 400, map[string]any{"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the following parameter: 'grant_type'."})
		return
	}
	form := r.PostForm
	id, secret := form.Get("client_id"), form.Get("client_secret")
	want, known := f.clients[id]
	switch {
	case form.Get("grant_type") != "client_credentials":
		f.json(w, 400, map[string]any{"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type."})
	case !known:
		f.json(w, 400, map[string]any{"error": "unauthorized_client", "error_description": fmt.Sprintf(
			"AADSTS700016: Application with identifier '%s' was not found in the directory. Trace ID: 0\r\nCorrelation ID: 1\r\nTimestamp: 2026-01-01 00:00:00Z", id),
			"error_codes": []int{700016}})
	case secret != want:
		f.json(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID. Trace ID: 0\r\nCorrelation ID: 1",
			"error_codes": []int{7000215}})
	case !validScope(form.Get("scope")):
		f.json(w, 400, map[string]any{"error": "invalid_scope", "error_description": "AADSTS70011: The provided value for the input parameter 'scope' is not valid."})
	default:
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		tok := "eyJ0eXAiOiJKV1QifQ." + hex.EncodeToString(b)
		f.tokens[tok] = id
		f.json(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

func (f *fakeAzure) vault(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		f.kvError(w, 400, "BadParameter", "The 'api-version' query parameter is missing.", "")
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	client, ok := f.tokens[tok]
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/`+fakeTenant+`", resource="https://vault.azure.net"`)
		f.kvError(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", strconv.Itoa(cmp.Or(f.retryAfter, 3)))
		f.kvError(w, 429, "Throttled", "Request was not processed because too many requests were received. Reason: A", "")
		return
	}
	f.calls[r.URL.Path]++
	allow := f.allow[client]
	if r.URL.Path == "/secrets" {
		if allow != nil {
			f.kvError(w, 403, "Forbidden", "The user, group or application 'appid="+client+"' does not have secrets list permission on key vault 'fake'.", "AccessDenied")
			return
		}
		f.json(w, 200, map[string]any{"value": []map[string]any{}, "nextLink": nil})
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/secrets/"), "/")
	name := parts[0]
	if allow != nil && !contains(allow, name) {
		f.kvError(w, 403, "Forbidden", "The user, group or application 'appid="+client+"' does not have secrets get permission on key vault 'fake'.", "AccessDenied")
		return
	}
	versions := f.secrets[name]
	if len(versions) == 0 {
		f.kvError(w, 404, "SecretNotFound", "A secret with (name/id) "+name+" was not found in this key vault.", "")
		return
	}
	v := versions[len(versions)-1]
	if len(parts) > 1 && parts[1] != "" {
		found := false
		for _, x := range versions {
			if x.id == parts[1] {
				v, found = x, true
			}
		}
		if !found {
			f.kvError(w, 404, "SecretNotFound", "A secret with (name/id) "+name+"/"+parts[1]+" was not found in this key vault.", "")
			return
		}
	}
	if !v.enabled {
		f.kvError(w, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled")
		return
	}
	f.json(w, 200, map[string]any{"value": v.value, "id": f.srv.URL + "/secrets/" + name + "/" + v.id,
		"attributes": map[string]any{"enabled": true, "created": time.Now().Unix(), "updated": time.Now().Unix(), "recoveryLevel": "Recoverable+Purgeable"},
		"tags":       map[string]string{}})
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func (f *fakeAzure) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAzure) kvError(w http.ResponseWriter, status int, code, msg, inner string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	f.json(w, status, map[string]any{"error": e})
}

// validScope accepts the vault resource's .default scope, alongside the
// OpenID scopes MSAL adds.
func validScope(scope string) bool {
	found := false
	for _, s := range strings.Fields(scope) {
		switch s {
		case "https://vault.azure.net/.default":
			found = true
		case "openid", "offline_access", "profile":
		default:
			return false
		}
	}
	return found
}
