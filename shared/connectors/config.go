package connectors

import (
	"fmt"
	"time"

	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Values reads an integration's config through its provider's declaration:
// a field the config leaves out (or sets to null, "" or an empty list) reads
// as the field's Default, or the zero value when it declares none. Asking for a
// field the spec does not declare, or with the getter of another type, is a
// programming error and panics; the tests build every provider's connector
// from its example config, so such a read fails there first.
type Values struct {
	spec *Spec
	cfg  map[string]any
}

// NewValues returns the values of cfg as spec declares them.
func NewValues(spec *Spec, cfg map[string]any) Values { return Values{spec: spec, cfg: cfg} }

// commonSpec declares only the common fields.
var commonSpec = &Spec{ID: "common fields"}

// CommonValues reads only the common fields of cfg (timeout, TLS, check
// periods): for code that serves every provider alike.
func CommonValues(cfg map[string]any) Values { return NewValues(commonSpec, cfg) }

// field returns the declaration of name and the value set for it, or nil.
func (v Values) field(name string, types ...FieldType) (*Field, any) {
	f := v.spec.Field(name)
	if f == nil {
		panic(fmt.Sprintf("connectors: provider %s reads config field %q, which it does not declare", v.spec.ID, name))
	}
	for _, t := range types {
		if f.Type == t {
			raw := v.cfg[name]
			if raw == "" {
				raw = nil
			}
			return f, raw
		}
	}
	panic(fmt.Sprintf("connectors: provider %s reads config field %q (%s) as %s", v.spec.ID, name, f.Type, types[0]))
}

// String returns a string, url or enum field.
func (v Values) String(name string) string {
	f, raw := v.field(name, TypeString, TypeURL, TypeEnum)
	if s, ok := raw.(string); ok {
		return s
	}
	s, _ := f.Default.(string)
	return s
}

// Int returns an integer field.
func (v Values) Int(name string) int {
	f, raw := v.field(name, TypeInt)
	if n, ok := asInt(raw); ok {
		return n
	}
	n, _ := f.Default.(int)
	return n
}

// Duration returns an integer field counted in unit (time.Second for a
// field of seconds).
func (v Values) Duration(name string, unit time.Duration) time.Duration {
	return time.Duration(v.Int(name)) * unit
}

// Bool returns a boolean field.
func (v Values) Bool(name string) bool {
	f, raw := v.field(name, TypeBool)
	if b, ok := raw.(bool); ok {
		return b
	}
	b, _ := f.Default.(bool)
	return b
}

// Strings returns a string-list field (a copy of the default when unset or
// empty).
func (v Values) Strings(name string) []string {
	f, raw := v.field(name, TypeStringList)
	if l, ok := asStrings(raw); ok && len(l) > 0 {
		return l
	}
	d, _ := f.Default.([]string)
	return append([]string(nil), d...)
}

// RetryPolicy returns base with its attempts set by the integration's
// "retries" field: a retryable error is tried retries+1 times in all (the
// field's declared default when the config leaves it out). base's other
// bounds (its total time, the longest Retry-After it waits) still hold.
// Every service that retries a provider call for an integration (scheduled
// checks, discoveries, notification deliveries) takes its policy here.
func (v Values) RetryPolicy(base resilience.Policy) resilience.Policy {
	base.MaxAttempts = v.Int("retries") + 1
	return base
}

// HTTPOptions builds the guarded client's options from the common fields
// (timeout, insecureSkipVerify, caCert, clientCert, rateLimitPerSecond,
// maxConcurrentRequests) and the operator policy.
// The client key is a reference; the runtime resolves it into clientKeyPEM.
func HTTPOptions(cfg Values, policy httpx.GuardPolicy, clientKeyPEM []byte) httpx.Options {
	o := httpx.Options{
		Timeout:            cfg.Duration("timeout", time.Second),
		InsecureSkipVerify: cfg.Bool("insecureSkipVerify"),
		Policy:             policy,
		RateLimit:          float64(cfg.Int("rateLimitPerSecond")),
		MaxConcurrent:      cfg.Int("maxConcurrentRequests"),
	}
	if ca := cfg.String("caCert"); ca != "" {
		o.CACertPEM = []byte(ca)
	}
	if cert := cfg.String("clientCert"); cert != "" {
		o.ClientCertPEM, o.ClientKeyPEM = []byte(cert), clientKeyPEM
	}
	return o
}
