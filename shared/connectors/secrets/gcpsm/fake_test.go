package gcpsm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGCP is a protocol fake of Google's OAuth2 token endpoint (the
// service-account JWT bearer grant) and of Secret Manager's v1 REST API,
// checking what Google checks: the assertion's RS256 signature against the
// key's public half, its iss, aud, scope, kid and lifetime; a Bearer token
// it issued and that has not expired on every API call; the
// projects/*/secrets/*/versions/*:access path; and answering with Google's
// error bodies (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED,
// RESOURCE_EXHAUSTED, FAILED_PRECONDITION) and base64 payloads with their
// CRC32C.
type fakeGCP struct {
	srv     *httptest.Server
	project string

	mu       sync.Mutex
	accounts map[string]*account // client_email -> account
	tokens   map[string]tokenInfo
	secrets  map[string]*gSecret
	throttle int
	calls    map[string]int
}

type account struct {
	keyID string
	pub   *rsa.PublicKey
	// allow is the secret ids the account may access; nil = all (and list).
	allow []string
}

type tokenInfo struct {
	email   string
	expires time.Time
}

type gSecret struct {
	versions []gVersion
	aliases  map[string]int
}

type gVersion struct {
	data     []byte
	disabled bool
}

func startGCP(t testing.TB) *fakeGCP {
	f := &fakeGCP{project: "hub-project", accounts: map[string]*account{}, tokens: map[string]tokenInfo{},
		secrets: map[string]*gSecret{}, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// addAccount makes a service account and returns its key file's JSON.
func (f *fakeGCP) addAccount(t testing.TB, email string, allow ...string) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyID := fmt.Sprintf("kid-%d", len(f.accounts)+1)
	f.mu.Lock()
	f.accounts[email] = &account{keyID: keyID, pub: &key.PublicKey, allow: allow}
	f.mu.Unlock()
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": f.project, "private_key_id": keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1234567890", "token_uri": f.srv.URL + "/token",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth",
	})
	return string(b)
}

func (f *fakeGCP) put(secret string, data string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[secret]
	if s == nil {
		s = &gSecret{aliases: map[string]int{}}
		f.secrets[secret] = s
	}
	s.versions = append(s.versions, gVersion{data: []byte(data)})
	return len(s.versions)
}

func (f *fakeGCP) count(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[what]
}

func (f *fakeGCP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/token" {
		f.calls["token"]++
		f.token(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/projects/") {
		http.NotFound(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	info, ok := f.tokens[strings.TrimPrefix(auth, "Bearer ")]
	if !strings.HasPrefix(auth, "Bearer ") || !ok || time.Now().After(info.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		f.apiError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		f.apiError(w, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project'.")
		return
	}
	acct := f.accounts[info.email]
	rest := strings.TrimPrefix(r.URL.Path, "/v1/projects/")
	project, rest, _ := strings.Cut(rest, "/")
	if project != f.project {
		f.apiError(w, 403, "PERMISSION_DENIED", "Permission denied on resource project "+project+".")
		return
	}
	if rest == "secrets" {
		f.calls["list"]++
		if acct.allow != nil {
			f.apiError(w, 403, "PERMISSION_DENIED", "Permission 'secretmanager.secrets.list' denied for resource 'projects/"+project+"'.")
			return
		}
		list := []map[string]string{}
		for name := range f.secrets {
			list = append(list, map[string]string{"name": "projects/123456/secrets/" + name})
			break
		}
		f.json(w, 200, map[string]any{"secrets": list, "totalSize": len(f.secrets)})
		return
	}
	// secrets/<id>/versions/<v>:access
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[0] != "secrets" || parts[2] != "versions" || !strings.HasSuffix(parts[3], ":access") {
		f.apiError(w, 404, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	f.calls["access"]++
	id, v := parts[1], strings.TrimSuffix(parts[3], ":access")
	name := "projects/" + project + "/secrets/" + id + "/versions/" + v
	if acct.allow != nil && !contains(acct.allow, id) {
		f.apiError(w, 403, "PERMISSION_DENIED", "Permission 'secretmanager.versions.access' denied for resource '"+name+"' (or it may not exist).")
		return
	}
	s := f.secrets[id]
	if s == nil || len(s.versions) == 0 {
		f.apiError(w, 404, "NOT_FOUND", "Secret [projects/123456/secrets/"+id+"] not found or has no versions.")
		return
	}
	n := 0
	switch {
	case v == "latest":
		for i := len(s.versions); i > 0; i-- {
			if !s.versions[i-1].disabled {
				n = i
				break
			}
		}
	default:
		if x, err := strconv.Atoi(v); err == nil {
			n = x
		} else {
			n = s.aliases[v]
		}
	}
	if n < 1 || n > len(s.versions) {
		f.apiError(w, 404, "NOT_FOUND", "Secret Version ["+name+"] not found.")
		return
	}
	ver := s.versions[n-1]
	if ver.disabled {
		f.apiError(w, 400, "FAILED_PRECONDITION", "Secret Version [projects/123456/secrets/"+id+"/versions/"+strconv.Itoa(n)+"] is in DISABLED state.")
		return
	}
	sum := crc32.Checksum(ver.data, crc32.MakeTable(crc32.Castagnoli))
	f.json(w, 200, map[string]any{"name": "projects/123456/secrets/" + id + "/versions/" + strconv.Itoa(n),
		"payload": map[string]string{"data": base64.StdEncoding.EncodeToString(ver.data), "dataCrc32c": strconv.FormatUint(uint64(sum), 10)}})
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// token implements the JWT bearer grant of RFC 7523 as Google does.
func (f *fakeGCP) token(w http.ResponseWriter, r *http.Request) {
	fail := func(code, desc string) {
		f.json(w, 400, map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		fail("invalid_request", "Invalid request.")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.")
		return
	}
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss, Scope, Aud string
		Exp, Iat        int64
	}
	if decode(parts[0], &header) != nil || decode(parts[1], &claims) != nil || header.Alg != "RS256" {
		fail("invalid_grant", "Invalid JWT.")
		return
	}
	acct, ok := f.accounts[claims.Iss]
	if !ok {
		fail("invalid_grant", "Invalid grant: account not found")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(acct.pub, crypto.SHA256, digest[:], sig) != nil {
		fail("invalid_grant", "Invalid JWT Signature.")
		return
	}
	now := time.Now().Unix()
	switch {
	case header.Kid != "" && header.Kid != acct.keyID:
		fail("invalid_grant", "Invalid JWT Signature.")
	case claims.Aud != f.srv.URL+"/token":
		fail("invalid_grant", "Invalid JWT: Failed audience check.")
	case !strings.Contains(claims.Scope, "https://www.googleapis.com/auth/cloud-platform"):
		fail("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
	case claims.Exp-claims.Iat > 3600 || claims.Iat > now+300 || claims.Exp < now:
		fail("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	default:
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		tok := "ya29." + base64.RawURLEncoding.EncodeToString(b)
		f.tokens[tok] = tokenInfo{email: claims.Iss, expires: time.Now().Add(time.Hour)}
		f.json(w, 200, map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

func decode(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (f *fakeGCP) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGCP) apiError(w http.ResponseWriter, status int, s, msg string) {
	f.json(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": s}})
}
