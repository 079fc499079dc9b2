package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

// LocalResolver resolves the local-development references env:// and
// file://. A file holds a JSON object of string values, or a plain string
// (then its value is under "value"); #key selects one value.
type LocalResolver struct {
	// LookupEnv defaults to os.LookupEnv; tests replace it.
	LookupEnv func(string) (string, bool)
	// ReadFile defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// EnvPrefix, when set, is the prefix every env:// name must have, and
	// FileDir the folder every file:// path must be in. Without them any
	// tenant could point a reference at the hub's own environment or files
	// and have the value sent to an endpoint it controls; services set both
	// from INTHUB_LOCAL_SECRET_ENV_PREFIX and INTHUB_LOCAL_SECRET_DIR.
	EnvPrefix string
	FileDir   string
}

// Resolve implements the resolution of env:// and file:// references.
func (l LocalResolver) Resolve(_ context.Context, ref Ref) (Secret, error) {
	lookup, read := l.LookupEnv, l.ReadFile
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if read == nil {
		read = os.ReadFile
	}
	if err := l.allowed(ref); err != nil {
		return nil, err
	}
	switch ref.Scheme {
	case SchemeEnv:
		v, ok := lookup(ref.Path)
		if !ok || v == "" {
			return nil, resilience.New(resilience.CredentialFetchFailed, "environment variable %s is not set", ref.Path)
		}
		return parseValue(v), nil
	case SchemeFile:
		b, err := read(ref.Path)
		if err != nil {
			return nil, resilience.New(resilience.CredentialFetchFailed, "credential file %s cannot be read", ref.Path)
		}
		s := parseValue(string(b))
		if ref.Key == "" {
			return s, nil
		}
		v, ok := s[ref.Key]
		if !ok {
			return nil, resilience.New(resilience.ResourceNotFound, "credential file %s has no key %q", ref.Path, ref.Key)
		}
		return Secret{"value": v, ref.Key: v}, nil
	}
	return nil, resilience.New(resilience.InvalidConfig, "%s references are not resolved locally", ref.Scheme)
}

// parseValue reads a JSON object of strings, or keeps the text as "value".
func parseValue(v string) Secret {
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

// allowed applies the operator's limits on local references.
func (l LocalResolver) allowed(ref Ref) error {
	switch {
	case ref.Scheme == SchemeEnv && l.EnvPrefix != "" && !strings.HasPrefix(ref.Path, l.EnvPrefix):
		return resilience.New(resilience.InvalidConfig, "env:// references on this hub must name variables starting with %s", l.EnvPrefix)
	case ref.Scheme == SchemeFile && l.FileDir != "":
		dir := strings.TrimSuffix(filepath.Clean(l.FileDir), "/") + "/"
		if !strings.HasPrefix(filepath.Clean(ref.Path), dir) {
			return resilience.New(resilience.InvalidConfig, "file:// references on this hub must point into %s", dir)
		}
	}
	return nil
}
