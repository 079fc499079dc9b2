package gcpsm

import (
	"encoding/base64"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/gcpauth/gcpfake"
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
	issuer   *gcpfake.Issuer
	allow    map[string][]string // client_email -> the secret ids it may access; nil = all (and list)
	secrets  map[string]*gSecret
	throttle int
	calls    map[string]int
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
	f := &fakeGCP{project: "hub-project", allow: map[string][]string{}, secrets: map[string]*gSecret{}, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.issuer = gcpfake.NewIssuer(func() string { return f.srv.URL + "/token" }, "https://www.googleapis.com/auth/cloud-platform")
	t.Cleanup(f.srv.Close)
	return f
}

// addAccount makes a service account and returns its key file's JSON.
func (f *fakeGCP) addAccount(t testing.TB, email string, allow ...string) string {
	key := f.issuer.AddAccount(t, email, f.project)
	f.mu.Lock()
	f.allow[email] = allow
	f.mu.Unlock()
	return key
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
		f.issuer.ServeToken(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/projects/") {
		http.NotFound(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	info, ok := f.issuer.Lookup(auth)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		f.apiError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		f.apiError(w, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute per project'.")
		return
	}
	allow := f.allow[info.Email]
	rest := strings.TrimPrefix(r.URL.Path, "/v1/projects/")
	project, rest, _ := strings.Cut(rest, "/")
	if project != f.project {
		f.apiError(w, 403, "PERMISSION_DENIED", "Permission denied on resource project "+project+".")
		return
	}
	if rest == "secrets" {
		f.calls["list"]++
		if allow != nil {
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
	if allow != nil && !contains(allow, id) {
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

func (f *fakeGCP) json(w http.ResponseWriter, status int, v any) { gcpfake.WriteJSON(w, status, v) }

func (f *fakeGCP) apiError(w http.ResponseWriter, status int, s, msg string) {
	gcpfake.APIError(w, status, s, msg)
}
