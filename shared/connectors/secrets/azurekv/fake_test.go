package azurekv

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/azauth/entrafake"
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
	entra    *entrafake.Entra
	allow    map[string][]string
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
	f := &fakeAzure{allow: map[string][]string{}, secrets: map[string][]azVersion{}, calls: map[string]int{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	f.entra = entrafake.New(fakeTenant, func() string { return f.srv.URL }, "https://vault.azure.net")
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
	f.entra.AddClient(id, secret)
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
	if r.URL.Path == "/"+fakeTenant+"/oauth2/v2.0/token" {
		f.calls["token"]++
	}
	switch {
	case f.entra.Serve(w, r):
	case r.URL.Path == "/secrets" || strings.HasPrefix(r.URL.Path, "/secrets/"):
		f.vault(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAzure) vault(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("api-version") == "" {
		f.kvError(w, 400, "BadParameter", "The 'api-version' query parameter is missing.", "")
		return
	}
	client, ok := f.entra.Lookup(r.Header.Get("Authorization"))
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

func (f *fakeAzure) json(w http.ResponseWriter, status int, v any) { entrafake.WriteJSON(w, status, v) }

func (f *fakeAzure) kvError(w http.ResponseWriter, status int, code, msg, inner string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	f.json(w, status, map[string]any{"error": e})
}
