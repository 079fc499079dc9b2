package testsvc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TokenServerOptions configures StartTokenServer.
type TokenServerOptions struct {
	// Users are the accounts accepted with Basic auth. A request without
	// credentials gets an anonymous token that grants no access, as Docker
	// Hub's does for private repositories.
	Users map[string]string
	// TTL is the expires_in of issued tokens; 0 means 5 minutes.
	TTL time.Duration
	// Grant decides whether an authenticated subject gets a requested
	// access; nil grants every request of a known user.
	Grant func(subject string, requested Access) bool
	// RealmHost, when set, names the server in its realm instead of
	// 127.0.0.1 (e.g. "localhost"): go-containerregistry refuses a realm
	// that is a private IP literal on another port than the registry, as
	// real token services are named by DNS.
	RealmHost string
}

// Access is one grant of a token: a resource and the actions allowed on it.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// TokenServer implements the Docker Registry token authentication spec
// (https://distribution.github.io/distribution/spec/auth/token/): GET
// <realm>?service=..&scope=.. with optional Basic auth answers
// {"token","access_token","expires_in","issued_at"}. Tokens are ES256 JWTs
// carrying their certificate in x5c; the registry trusts that certificate
// as its rootcertbundle.
type TokenServer struct {
	// Service and Issuer are the registry's auth.token service and issuer.
	Service, Issuer string

	srv   *httptest.Server
	users map[string]string
	ttl   time.Duration
	grant func(string, Access) bool
	// realmHost replaces 127.0.0.1 in Realm.
	realmHost string
	key       *ecdsa.PrivateKey
	certDER   []byte

	requests atomic.Int64
	mu       sync.Mutex
	scopes   []string
}

// StartTokenServer runs a token server on a loopback port until t ends.
func StartTokenServer(t testing.TB, opts TokenServerOptions) *TokenServer {
	t.Helper()
	ts := &TokenServer{Service: "testsvc-registry", Issuer: "testsvc-token-issuer", users: opts.Users, ttl: opts.TTL, grant: opts.Grant, realmHost: opts.RealmHost}
	if ts.ttl <= 0 {
		ts.ttl = 5 * time.Minute
	}
	var err error
	if ts.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatalf("testsvc: token key: %v", err)
	}
	// No extended key usage: Go's verifier then accepts the certificate for
	// whatever usage the registry asks about.
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: ts.Issuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if ts.certDER, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ts.key.PublicKey, ts.key); err != nil {
		t.Fatalf("testsvc: token certificate: %v", err)
	}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serveToken))
	t.Cleanup(ts.srv.Close)
	return ts
}

// Realm is the token endpoint the registry sends clients to.
func (ts *TokenServer) Realm() string {
	u := ts.srv.URL
	if ts.realmHost != "" {
		u = strings.Replace(u, "127.0.0.1", ts.realmHost, 1)
	}
	return u + "/token"
}

// CertificatePEM is the certificate the registry trusts.
func (ts *TokenServer) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.certDER})
}

// Requests counts token requests answered with a token.
func (ts *TokenServer) Requests() int { return int(ts.requests.Load()) }

// Scopes lists the scope parameters of every token request, in order.
func (ts *TokenServer) Scopes() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.scopes...)
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

func (ts *TokenServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("service") != ts.Service {
		writeRegistryError(w, http.StatusBadRequest, "UNSUPPORTED", "unknown service")
		return
	}
	subject := ""
	if user, password, ok := r.BasicAuth(); ok {
		if want, known := ts.users[user]; !known || want != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="testsvc-token"`)
			writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
			return
		}
		subject = user
	}
	var grants []Access
	for _, scope := range q["scope"] {
		for _, s := range strings.Fields(scope) {
			if a, ok := parseScope(s); ok && subject != "" && (ts.grant == nil || ts.grant(subject, a)) {
				grants = append(grants, a)
			}
		}
	}
	ts.mu.Lock()
	ts.scopes = append(ts.scopes, strings.Join(q["scope"], " "))
	ts.mu.Unlock()
	ts.requests.Add(1)
	now := time.Now()
	token := ts.Mint(subject, grants...)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(tokenResponse{
		Token: token, AccessToken: token, ExpiresIn: int(ts.ttl / time.Second), IssuedAt: now.UTC().Format(time.RFC3339),
	})
}

// parseScope reads type:name:actions; a name may hold colons (host:port).
func parseScope(s string) (Access, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i <= 0 || typ == "" {
		return Access{}, false
	}
	return Access{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")}, true
}

// Mint issues a token for subject with the given grants, as the token
// endpoint does; tests use it for static bearer credentials and for pushes.
func (ts *TokenServer) Mint(subject string, grants ...Access) string {
	now := time.Now()
	if grants == nil {
		grants = []Access{}
	}
	header := map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(ts.certDER)}}
	claims := map[string]any{
		"iss": ts.Issuer, "sub": subject, "aud": ts.Service,
		"exp": now.Add(ts.ttl).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": randomID(), "access": grants,
	}
	signingInput := segment(header) + "." + segment(claims)
	digest := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, ts.key, digest[:])
	if err != nil {
		panic("testsvc: sign token: " + err.Error()) // crypto/rand failing is not a test outcome
	}
	// JWS ES256 signatures are r || s, each left-padded to 32 bytes.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("testsvc: encode token: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeRegistryError answers in the registry's error format.
func writeRegistryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": message}}})
}
