package credentials

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

// The credential types an integration may declare. docs/credentials.md documents the keys each
// one needs; Shapes below is that table in code.
const (
	TypeBasic          = "basic"
	TypeToken          = "token"
	TypeAPIKey         = "api-key"
	TypeOAuth2         = "oauth2"
	TypeServiceAccount = "service-account"
	TypeCertificate    = "certificate"
)

// Shapes describes, per credential type, the keys a secret must hold. It is
// the sentence a CredentialTypeError carries, so an operator reading the
// error knows what to put in the store.
var Shapes = map[string]string{
	TypeBasic:          "keys username and password (or one value user:password)",
	TypeToken:          "key token (or access_token, access-token, or a single value)",
	TypeAPIKey:         "key apiKey (or api_key, api-key, or a single value)",
	TypeOAuth2:         "keys clientId and clientSecret (tokenUrl, scopes optional), or key accessToken (refreshToken optional)",
	TypeServiceAccount: "a GCP service-account key (keys type=service_account, client_email, private_key, as fields or as one JSON value) or a Kubernetes service-account token (key token)",
	TypeCertificate:    "keys certificate and privateKey, both PEM (ca optional)",
}

// CredentialTypeError says a resolved secret does not hold what its
// credential type needs. It names the keys expected and the key names the
// secret holds, never a value. errors.Is(err, ErrShape) holds for it, and
// Coded gives it the INVALID_CONFIG code: retrying cannot fix a secret of
// the wrong shape.
type CredentialTypeError struct {
	// Types are the credential types that were tried, in order.
	Types []string
	// Keys are the names of the keys the secret holds, sorted.
	Keys []string
}

func (e *CredentialTypeError) Error() string {
	var want []string
	for _, t := range e.Types {
		if s, ok := Shapes[t]; ok {
			want = append(want, t+" needs "+s)
		} else {
			want = append(want, "unknown credential type "+truncate(t, 32))
		}
	}
	have := "no keys"
	if len(e.Keys) > 0 {
		have = "keys " + strings.Join(e.Keys, ", ")
	}
	return fmt.Sprintf("secret does not match credential type %s: %s; it holds %s",
		strings.Join(e.Types, " or "), strings.Join(want, "; "), have)
}

// Unwrap makes errors.Is(err, ErrShape) true.
func (e *CredentialTypeError) Unwrap() error { return ErrShape }

// Coded wraps e in a resilience error with code INVALID_CONFIG.
func (e *CredentialTypeError) Coded() error {
	return &resilience.Error{Code: resilience.InvalidConfig, Err: e}
}

// Credential is a secret read as one credential type. Only the fields of
// Type are set.
type Credential struct {
	Type string

	Username, Password string // basic
	Token              string // token; service-account (Kubernetes)
	APIKey             string // api-key

	// oauth2: client credentials, or an access token (and refresh token).
	ClientID, ClientSecret, TokenURL string
	Scopes                           []string
	AccessToken, RefreshToken        string

	// ServiceAccountJSON is a GCP service-account key file's JSON.
	ServiceAccountJSON []byte

	// certificate: PEM blocks.
	CertificatePEM, PrivateKeyPEM, CAPEM string
}

// As reads s as the first of types whose shape it matches. No match is a
// CredentialTypeError with code INVALID_CONFIG naming every type tried.
func (s Secret) As(types ...string) (Credential, error) {
	for _, t := range types {
		if c, ok := s.as(t); ok {
			return c, nil
		}
	}
	return Credential{}, (&CredentialTypeError{Types: types, Keys: s.keyNames()}).Coded()
}

// Validate checks that s matches credType.
func (s Secret) Validate(credType string) error {
	_, err := s.As(credType)
	return err
}

func (s Secret) as(t string) (Credential, bool) {
	c := Credential{Type: t}
	var err error
	switch t {
	case TypeBasic:
		c.Username, c.Password, err = s.Basic()
	case TypeToken:
		c.Token, err = s.Token()
	case TypeAPIKey:
		c.APIKey, err = s.APIKey()
	case TypeOAuth2:
		return s.oauth2()
	case TypeServiceAccount:
		return s.serviceAccount()
	case TypeCertificate:
		c.CertificatePEM = s.first("certificate", "cert", "tls.crt", "clientCert")
		c.PrivateKeyPEM = s.first("privateKey", "private_key", "key", "tls.key", "clientKey")
		c.CAPEM = s.first("ca", "ca.crt", "caCert")
		ok := strings.Contains(c.CertificatePEM, "-----BEGIN ") && strings.Contains(c.PrivateKeyPEM, "-----BEGIN ")
		return c, ok
	default:
		return c, false
	}
	return c, err == nil
}

func (s Secret) oauth2() (Credential, bool) {
	c := Credential{Type: TypeOAuth2}
	c.ClientID = s.first("clientId", "client_id")
	c.ClientSecret = s.first("clientSecret", "client_secret")
	c.TokenURL = s.first("tokenUrl", "token_url")
	if sc := s.first("scopes", "scope"); sc != "" {
		c.Scopes = strings.FieldsFunc(sc, func(r rune) bool { return r == ' ' || r == ',' })
	}
	c.AccessToken = s.first("accessToken", "access_token")
	c.RefreshToken = s.first("refreshToken", "refresh_token")
	return c, (c.ClientID != "" && c.ClientSecret != "") || c.AccessToken != ""
}

// serviceAccount accepts a GCP key as the secret's own fields (a whole key
// file stored as one store secret) or as a JSON value, else a Kubernetes
// token.
func (s Secret) serviceAccount() (Credential, bool) {
	c := Credential{Type: TypeServiceAccount}
	if s["type"] == "service_account" && s["client_email"] != "" && s["private_key"] != "" {
		b, err := json.Marshal(map[string]string(s))
		if err == nil {
			c.ServiceAccountJSON = b
			return c, true
		}
	}
	if v := s.first("json", "serviceAccount", "service_account", "credentials", "value"); v != "" {
		var key struct {
			Type        string `json:"type"`
			ClientEmail string `json:"client_email"`
			PrivateKey  string `json:"private_key"`
		}
		if json.Unmarshal([]byte(v), &key) == nil && key.Type == "service_account" && key.ClientEmail != "" && key.PrivateKey != "" {
			c.ServiceAccountJSON = []byte(v)
			return c, true
		}
	}
	if t := s.first("token"); t != "" {
		c.Token = t
		return c, true
	}
	return c, false
}

// keyNames lists the secret's key names, sorted.
func (s Secret) keyNames() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, truncate(k, 64))
	}
	slices.Sort(keys)
	return keys
}

// First returns the first non-empty value among keys, or "".
func (s Secret) First(keys ...string) string { return s.first(keys...) }
