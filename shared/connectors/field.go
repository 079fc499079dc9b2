package connectors

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
)

// FieldType is the type of a config value.
type FieldType string

// Config value types. URLs are strings that must be absolute http(s) URLs;
// secret fields are strings that must be credential references.
const (
	TypeString     FieldType = "string"
	TypeInt        FieldType = "integer"
	TypeBool       FieldType = "boolean"
	TypeURL        FieldType = "url"
	TypeEnum       FieldType = "enum"
	TypeStringList FieldType = "stringList"
)

// Field is one config field of a provider.
type Field struct {
	Name     string
	Type     FieldType
	Required bool
	// Secret fields hold a credential reference, never the secret itself.
	Secret      bool
	Default     any
	Enum        []string
	Min, Max    int
	MaxLength   int
	Description string
}

// Info renders the field for the API.
func (f Field) Info() contracts.ConfigField {
	return contracts.ConfigField{
		Name: f.Name, Type: string(f.Type), Required: f.Required, Secret: f.Secret,
		Default: f.Default, Enum: f.Enum, Description: f.Description,
	}
}

// CommonFields are the spec's IntegrationConfig common fields plus the TLS
// options every HTTP connector honours. A provider may redeclare one (to make
// url required, say).
var CommonFields = []Field{
	{Name: "url", Type: TypeURL, Description: "Base URL of the external system."},
	{Name: "timeout", Type: TypeInt, Min: 1, Max: 300, Default: 30, Description: "Per-request timeout in seconds."},
	{Name: "retries", Type: TypeInt, Min: 0, Max: 10, Default: 3, Description: "Retries for retryable errors."},
	{Name: "insecureSkipVerify", Type: TypeBool, Default: false, Description: "Skip TLS certificate verification (testing only)."},
	{Name: "caCert", Type: TypeString, MaxLength: 65536, Description: "PEM CA certificate(s) trusted in addition to the system roots."},
	{Name: "clientCert", Type: TypeString, MaxLength: 65536, Description: "PEM client certificate for mutual TLS."},
	{Name: "clientKeyRef", Type: TypeString, Secret: true, Description: "Credential reference to the PEM key of clientCert."},
	{Name: "connectivityCheckSeconds", Type: TypeInt, Min: 5, Max: 86400, Description: "Connectivity check period for this integration (default 60)."},
	{Name: "authenticationCheckSeconds", Type: TypeInt, Min: 5, Max: 86400, Description: "Authentication check period for this integration (default 300)."},
	{Name: "functionalityCheckSeconds", Type: TypeInt, Min: 5, Max: 86400, Description: "Functionality check period for this integration (default 900)."},
	{Name: "discoveryCacheTTLSeconds", Type: TypeInt, Min: 0, Max: 86400, Description: "Discovery cache TTL for every resource type of this integration, in seconds; 0 turns its cache off (default: per resource type, e.g. repositories 3600, tags 300)."},
}

// ValidateConfig checks cfg against the spec: unknown fields, missing
// required fields, wrong types, bad URLs and literal secrets are refused, each
// with its own code. It does not mutate cfg.
func (s *Spec) ValidateConfig(cfg map[string]any) error {
	for _, name := range sortedKeys(cfg) {
		f := s.Field(name)
		if f == nil {
			return apierr.BadRequest(apierr.UnknownConfigField, "config field %q is not a field of provider %q", name, s.ID).
				With("field", name).With("allowed", fieldNames(s.AllFields()))
		}
		if err := f.check(cfg[name]); err != nil {
			return err
		}
	}
	for _, f := range s.AllFields() {
		if !f.Required {
			continue
		}
		if v, ok := cfg[f.Name]; !ok || v == nil || v == "" {
			return apierr.BadRequest(apierr.MissingRequiredField, "config field %q is required by provider %q", f.Name, s.ID).With("field", f.Name)
		}
	}
	return nil
}

func (f Field) check(v any) error {
	wrongType := func(want string) error {
		return apierr.BadRequest(apierr.InvalidFieldType, "config field %q must be %s", f.Name, want).With("field", f.Name)
	}
	badValue := func(format string, args ...any) error {
		return apierr.BadRequest(apierr.InvalidFieldValue, "config field %q %s", f.Name, fmt.Sprintf(format, args...)).With("field", f.Name)
	}
	if v == nil {
		return nil
	}
	switch f.Type {
	case TypeString, TypeURL, TypeEnum:
		s, ok := v.(string)
		if !ok {
			return wrongType("a string")
		}
		max := f.MaxLength
		if max == 0 {
			max = 2048
		}
		if len(s) > max {
			return badValue("is longer than %d characters", max)
		}
		if f.Secret && s != "" && !credentials.IsRef(s) {
			// Never echo the value: it is probably the secret itself.
			return apierr.BadRequest(apierr.LiteralSecret,
				"config field %q is secret: give a credential reference (vault://, authref://, env://, file://), not the value", f.Name).With("field", f.Name)
		}
		if f.Type == TypeURL && s != "" {
			if err := checkURL(s); err != nil {
				return apierr.BadRequest(apierr.InvalidURL, "config field %q: %s", f.Name, err.Error()).With("field", f.Name)
			}
		}
		if f.Type == TypeEnum && !slices.Contains(f.Enum, s) {
			return badValue("must be one of %s", strings.Join(f.Enum, ", "))
		}
	case TypeInt:
		n, ok := v.(float64)
		if i, isInt := v.(int); isInt {
			n, ok = float64(i), true
		}
		if !ok || n != math.Trunc(n) {
			return wrongType("an integer")
		}
		if (f.Min != 0 || f.Max != 0) && (n < float64(f.Min) || n > float64(f.Max)) {
			return badValue("must be between %d and %d", f.Min, f.Max)
		}
	case TypeBool:
		if _, ok := v.(bool); !ok {
			return wrongType("a boolean")
		}
	case TypeStringList:
		list, ok := v.([]any)
		if !ok {
			if ss, isStrings := v.([]string); isStrings {
				list = make([]any, len(ss))
				for i := range ss {
					list[i] = ss[i]
				}
				ok = true
			}
		}
		if !ok {
			return wrongType("a list of strings")
		}
		if len(list) > 1000 {
			return badValue("holds more than 1000 entries")
		}
		for _, e := range list {
			if _, ok := e.(string); !ok {
				return wrongType("a list of strings")
			}
		}
	}
	return nil
}

// checkURL accepts absolute http(s) URLs without user info: credentials in a
// URL would be a literal secret stored in the catalog.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an absolute http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("has no host")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry user info: use credentialRef")
	}
	return nil
}

func fieldNames(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
