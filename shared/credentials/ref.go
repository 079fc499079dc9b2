// Package credentials parses credential references and resolves them. An
// integration holds a reference (vault://store/path#key), never a secret.
package credentials

import (
	"fmt"
	"strings"
)

// Scheme is the kind of store a reference points into.
type Scheme string

// The accepted schemes: secret-store integrations (vault, authref) and the
// local-development forms (env, file).
const (
	SchemeVault   Scheme = "vault"
	SchemeAuthRef Scheme = "authref"
	SchemeEnv     Scheme = "env"
	SchemeFile    Scheme = "file"
)

// MaxRefLength bounds a reference; longer input is refused before parsing.
const MaxRefLength = 1024

// Ref is a parsed credential reference.
type Ref struct {
	Scheme Scheme
	// Store is the secret-store integration (vault, authref); empty otherwise.
	Store string
	// Path is the secret's path in the store, the file's path, or the
	// environment variable's name.
	Path string
	// Key selects one value of a secret holding several; may be empty.
	Key string
}

// String renders the reference in its canonical form.
func (r Ref) String() string {
	var b strings.Builder
	b.WriteString(string(r.Scheme))
	b.WriteString("://")
	if r.Store != "" {
		b.WriteString(r.Store)
		b.WriteByte('/')
	}
	b.WriteString(r.Path)
	if r.Key != "" {
		b.WriteByte('#')
		b.WriteString(r.Key)
	}
	return b.String()
}

// RefError says why a string is not a valid reference. It never repeats the
// input: a mistyped secret pasted into a reference field must not reach logs.
type RefError struct{ Reason string }

func (e *RefError) Error() string { return "invalid credential reference: " + e.Reason }

func refErr(format string, args ...any) error { return &RefError{Reason: fmt.Sprintf(format, args...)} }

// ParseRef parses vault://<store>/<path>[#key], authref://<store>/<path>[#key],
// env://<NAME> and file://<absolute path>[#key].
func ParseRef(s string) (Ref, error) {
	if len(s) > MaxRefLength {
		return Ref{}, refErr("longer than %d characters", MaxRefLength)
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return Ref{}, refErr("contains whitespace or control characters")
		}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Ref{}, refErr("missing scheme: use vault://, authref://, env:// or file://")
	}
	rest, key, hasKey := strings.Cut(rest, "#")
	if hasKey {
		if key == "" {
			return Ref{}, refErr("empty key after '#'")
		}
		if !validToken(key, "-_./") {
			return Ref{}, refErr("key may hold only letters, digits and - _ . /")
		}
	}
	if strings.ContainsAny(rest, "?@:") {
		return Ref{}, refErr("query strings, user info and ports are not part of a reference")
	}
	r := Ref{Scheme: Scheme(scheme), Key: key}
	switch r.Scheme {
	case SchemeVault, SchemeAuthRef:
		store, path, ok := strings.Cut(rest, "/")
		if !ok || store == "" {
			return Ref{}, refErr("%s references need <store>/<path>", scheme)
		}
		if len(store) > 128 || !validToken(store, "-_.") {
			return Ref{}, refErr("store name may hold only letters, digits and - _ .")
		}
		if err := checkPath(path); err != nil {
			return Ref{}, err
		}
		r.Store, r.Path = store, path
	case SchemeEnv:
		if hasKey {
			return Ref{}, refErr("env references take no key")
		}
		if !validEnvName(rest) {
			return Ref{}, refErr("env references need a variable name like API_TOKEN")
		}
		r.Path = rest
	case SchemeFile:
		if !strings.HasPrefix(rest, "/") {
			return Ref{}, refErr("file references need an absolute path (file:///path)")
		}
		if err := checkPath(rest[1:]); err != nil {
			return Ref{}, err
		}
		r.Path = rest
	default:
		return Ref{}, refErr("unknown scheme %q: use vault, authref, env or file", truncate(scheme, 16))
	}
	return r, nil
}

// IsRef reports whether s parses as a reference. Secret config fields must.
func IsRef(s string) bool {
	_, err := ParseRef(s)
	return err == nil
}

func checkPath(p string) error {
	if p == "" {
		return refErr("empty secret path")
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return refErr("empty path segment")
		case ".", "..":
			return refErr("path segments '.' and '..' are not allowed")
		}
		if !validToken(seg, "-_.") {
			return refErr("path may hold only letters, digits and - _ . /")
		}
	}
	return nil
}

func validToken(s, extra string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(extra, c)) {
			return false
		}
	}
	return true
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 128 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	return validToken(s, "_")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
