package credentials

import (
	"errors"
	"fmt"
	"strings"
)

// Secret is a resolved credential: named values. It lives in memory only and
// is never logged, stored, published or put in an error.
type Secret map[string]string

// ErrShape says a secret does not hold what its credential type needs. The
// message names the keys expected, never the values present.
var ErrShape = errors.New("secret does not match its credential type")

func (s Secret) first(keys ...string) string {
	for _, k := range keys {
		if v := s[k]; v != "" {
			return v
		}
	}
	return ""
}

// Basic returns username and password: keys "username" and "password", or a
// single "value" of the form user:password.
func (s Secret) Basic() (user, password string, err error) {
	user, password = s.first("username", "user"), s.first("password")
	if user != "" && password != "" {
		return user, password, nil
	}
	if v := s["value"]; v != "" {
		if u, p, ok := strings.Cut(v, ":"); ok && u != "" {
			return u, p, nil
		}
	}
	return "", "", fmt.Errorf("%w: basic credentials need keys username and password (or a value user:password)", ErrShape)
}

// Token returns a bearer token: key "token", "access_token", "access-token"
// or "value".
func (s Secret) Token() (string, error) {
	if v := s.first("token", "access_token", "access-token", "value"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%w: token credentials need key token (or value)", ErrShape)
}

// APIKey returns an API key: key "apiKey", "api_key", "api-key" or "value".
func (s Secret) APIKey() (string, error) {
	if v := s.first("apiKey", "api_key", "api-key", "value"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%w: api-key credentials need key apiKey (or value)", ErrShape)
}

// PEM returns a PEM value (a client key): key "pem", "key", "privateKey" or
// "value".
func (s Secret) PEM() (string, error) {
	if v := s.first("pem", "key", "privateKey", "private_key", "value"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%w: certificate keys need key pem (or value)", ErrShape)
}
