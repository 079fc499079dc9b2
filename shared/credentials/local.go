package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/stella-ops/inthub/shared/resilience"
)

// LocalResolver resolves the local references env:// and file:// of one
// tenant at a time, within what Policy grants that tenant. A file holds a
// JSON object of string values, or a plain string (then its value is under
// "value"); #key selects one value.
type LocalResolver struct {
	// Policy says which names and files each tenant may read; the zero
	// Policy lets no tenant read any. Services set it from
	// INTHUB_LOCAL_SECRET_TENANTS (see config.LocalSecretsFromEnv).
	Policy LocalPolicy
	// LookupEnv defaults to os.LookupEnv; tests replace it.
	LookupEnv func(string) (string, bool)
	// ReadFile defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Resolve resolves an env:// or file:// reference of tenantID. A reference
// outside the tenant's grant is INVALID_CONFIG, whatever the manager
// accepted when it was saved (the policy may have changed since).
func (l LocalResolver) Resolve(_ context.Context, tenantID string, ref Ref) (Secret, error) {
	if ref.Scheme != SchemeEnv && ref.Scheme != SchemeFile {
		return nil, resilience.New(resilience.InvalidConfig, "%s references are not resolved locally", ref.Scheme)
	}
	if err := l.Policy.Check(tenantID, ref); err != nil {
		return nil, resilience.Wrap(resilience.InvalidConfig, err, "credential reference")
	}
	lookup, read := l.LookupEnv, l.ReadFile
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if read == nil {
		read = os.ReadFile
	}
	if ref.Scheme == SchemeEnv {
		v, ok := lookup(ref.Path)
		if !ok || v == "" {
			return nil, resilience.New(resilience.CredentialFetchFailed, "environment variable %s is not set", ref.Path)
		}
		return SecretFromText(v), nil
	}
	if l.ReadFile == nil {
		// The real file system: follow links before trusting the path.
		if err := l.Policy.checkRealPath(tenantID, ref.Path); err != nil {
			return nil, resilience.Wrap(resilience.InvalidConfig, err, "credential reference")
		}
	}
	b, err := read(ref.Path)
	if err != nil {
		return nil, resilience.New(resilience.CredentialFetchFailed, "credential file %s cannot be read", ref.Path)
	}
	s := SecretFromText(string(b))
	if ref.Key == "" {
		return s, nil
	}
	v, ok := s[ref.Key]
	if !ok {
		return nil, resilience.New(resilience.ResourceNotFound, "credential file %s has no key %q", ref.Path, ref.Key)
	}
	return Secret{"value": v, ref.Key: v}, nil
}

// SecretFromText reads a local secret's text: a JSON object of strings, or
// else the text itself (trailing newlines dropped) as "value".
func SecretFromText(v string) Secret {
	var m map[string]any
	if json.Unmarshal([]byte(v), &m) == nil && m != nil {
		s := Secret{}
		for k, x := range m {
			s[k] = fmt.Sprint(x)
		}
		return s
	}
	return Secret{"value": trimNewline(v)}
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
