// Package gcpfake is the OAuth2 token endpoint of the hub's Google Cloud
// protocol fakes (tests only): the service-account JWT bearer grant of RFC
// 7523 checked as Google checks it (the assertion's RS256 signature
// against the key's public half, its iss, aud, scope, kid and lifetime),
// answering with Google's error bodies, and the access tokens it issued
// looked up by the API fakes.
package gcpfake

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
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issuer is a token endpoint. Its zero value is not usable: use NewIssuer.
type Issuer struct {
	// Audience is the token URL the assertion must name (the endpoint's
	// own URL); Scope is the scope it must ask for.
	audience func() string
	scope    string
	// Fixed, when set, is the access token every grant returns (for a
	// registry whose passwords are fixed); otherwise each is random.
	Fixed string

	mu       sync.Mutex
	accounts map[string]account // client_email -> account
	tokens   map[string]Token
}

type account struct {
	keyID string
	pub   *rsa.PublicKey
}

// Token is an issued access token.
type Token struct {
	Email   string
	Expires time.Time
}

// NewIssuer returns an issuer whose assertions must name audience() and
// ask for scope.
func NewIssuer(audience func() string, scope string) *Issuer {
	return &Issuer{audience: audience, scope: scope, accounts: map[string]account{}, tokens: map[string]Token{}}
}

// AddAccount makes a service account and returns its key file's JSON, with
// token_uri the issuer's audience and project_id project.
func (s *Issuer) AddAccount(t testing.TB, email, project string) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	keyID := fmt.Sprintf("kid-%d", len(s.accounts)+1)
	s.accounts[email] = account{keyID: keyID, pub: &key.PublicKey}
	s.mu.Unlock()
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1234567890", "token_uri": s.audience(),
		"auth_uri": "https://accounts.google.com/o/oauth2/auth",
	})
	return string(b)
}

// Lookup reads an Authorization header: the token it carries, if the
// issuer issued it and it has not expired.
func (s *Issuer) Lookup(authorization string) (Token, bool) {
	raw, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok {
		return Token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.tokens[raw]
	return tok, ok && time.Now().Before(tok.Expires)
}

// ServeToken implements the JWT bearer grant as Google does.
func (s *Issuer) ServeToken(w http.ResponseWriter, r *http.Request) {
	fail := func(code, desc string) {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
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
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, ok := s.accounts[claims.Iss]
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
	case claims.Aud != s.audience():
		fail("invalid_grant", "Invalid JWT: Failed audience check.")
	case !strings.Contains(claims.Scope, s.scope):
		fail("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
	case claims.Exp-claims.Iat > 3600 || claims.Iat > now+300 || claims.Exp < now:
		fail("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	default:
		tok := s.Fixed
		if tok == "" {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			tok = "ya29." + base64.RawURLEncoding.EncodeToString(b)
		}
		s.tokens[tok] = Token{Email: claims.Iss, Expires: time.Now().Add(time.Hour)}
		WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

func decode(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// WriteJSON answers v with Google's JSON content type.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// APIError answers Google's error body {"error": {"code", "message", "status"}}.
func APIError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": code}})
}

// Revoke forgets every issued token, as a revoked key's tokens are.
func (s *Issuer) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}
