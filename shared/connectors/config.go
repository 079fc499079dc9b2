package connectors

import (
	"time"

	"github.com/stella-ops/inthub/shared/httpx"
)

// Config reads an integration's config map with its spec's defaults. JSON
// numbers arrive as float64; the getters hide that.
type Config map[string]any

// String returns a string field or def.
func (c Config) String(name, def string) string {
	if v, ok := c[name].(string); ok && v != "" {
		return v
	}
	return def
}

// Int returns an integer field or def.
func (c Config) Int(name string, def int) int {
	switch v := c[name].(type) {
	case float64:
		return int(v)
	case int:
		return v
	}
	return def
}

// Bool returns a boolean field or def.
func (c Config) Bool(name string, def bool) bool {
	if v, ok := c[name].(bool); ok {
		return v
	}
	return def
}

// Strings returns a string-list field.
func (c Config) Strings(name string) []string {
	switch v := c[name].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// HTTPOptions builds the guarded client's options from the common fields
// (timeout, insecureSkipVerify, caCert, clientCert) and the operator policy.
// The client key is a reference; the runtime resolves it into clientKeyPEM.
func HTTPOptions(cfg Config, policy httpx.GuardPolicy, clientKeyPEM []byte) httpx.Options {
	o := httpx.Options{
		Timeout:            time.Duration(cfg.Int("timeout", 30)) * time.Second,
		InsecureSkipVerify: cfg.Bool("insecureSkipVerify", false),
		Policy:             policy,
	}
	if ca := cfg.String("caCert", ""); ca != "" {
		o.CACertPEM = []byte(ca)
	}
	if cert := cfg.String("clientCert", ""); cert != "" {
		o.ClientCertPEM, o.ClientKeyPEM = []byte(cert), clientKeyPEM
	}
	return o
}
