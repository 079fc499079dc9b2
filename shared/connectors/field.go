package connectors

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"net/url"
	"regexp"
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

// Bounds every field has unless it declares tighter ones.
const (
	// DefaultMaxLength bounds a string (or list element) without MaxLength.
	DefaultMaxLength = 2048
	// MaxListLength bounds a string list without Max.
	MaxListLength = 1000
)

// Field is one config field of a provider: its declaration is the only
// place its type, default and rules are written. The manager refuses a
// config that breaks a rule when it is saved (Spec.ValidateConfig), and
// connectors read the value back through Values, default included.
type Field struct {
	Name     string
	Type     FieldType
	Required bool
	// Secret fields hold a credential reference, never the secret itself.
	Secret bool
	// Default is what Values returns when the config leaves the field out:
	// a string (string, url and enum fields), an int, a bool or a []string.
	Default any
	// Enum lists the values an enum field, or each element of a string
	// list, may take.
	Enum []string
	// Min and Max bound an integer, or the number of elements of a string
	// list. Max 0 means no upper bound (MaxListLength for lists); Min and
	// Max both 0 bound nothing.
	Min, Max int
	// MinLength and MaxLength bound the length of a string or of each
	// element of a list, in bytes; MaxLength 0 means DefaultMaxLength.
	MinLength, MaxLength int
	// Pattern must match the whole string (each element of a list); anchor
	// it. PatternDescription says in words what it accepts ("a lowercase
	// repository name like myorg/myapp") and is the refusal's text.
	Pattern            *regexp.Regexp
	PatternDescription string
	// Check is a rule a pattern cannot say, run on the string (each element
	// of a list) after the other rules; its error's text is the refusal's.
	// It must not echo the value of a secret field.
	Check       func(string) error
	Description string
}

// Info renders the field for the API.
func (f Field) Info() contracts.ConfigField {
	return contracts.ConfigField{
		Name: f.Name, Type: string(f.Type), Required: f.Required, Secret: f.Secret,
		Default: f.Default, Enum: f.Enum, Description: f.Description,
	}
}

// WebhookSecretRef names the config field of a CI/CD provider whose runs
// may be moved by the provider's webhook: a credential reference to the
// secret the webhook is signed with. Without it, the integration's webhook
// endpoint is refused.
const WebhookSecretRef = "webhookSecretRef"

// WebhookScheme is how a provider signs its webhooks with the secret of
// WebhookSecretRef.
type WebhookScheme string

// The webhook schemes the pipeline-runner checks.
const (
	// WebhookGitLabToken: X-Gitlab-Token carries the secret itself.
	WebhookGitLabToken WebhookScheme = "gitlab-token"
	// WebhookGitHubHMAC: X-Hub-Signature-256 is sha256= and the hex
	// HMAC-SHA256 of the body keyed with the secret.
	WebhookGitHubHMAC WebhookScheme = "github-hmac-sha256"
	// WebhookDroneSignature: Drone's global webhooks carry an HTTP
	// Signature (draft-cavage, hmac-sha256) in the Signature header over
	// the Date and Digest (SHA-256= and the base64 SHA-256 of the body)
	// headers, keyed with the secret.
	WebhookDroneSignature WebhookScheme = "drone-http-signature"
	// WebhookCircleCIHMAC: Circleci-Signature is v1= and the hex
	// HMAC-SHA256 of the body keyed with the secret (several
	// comma-separated versions may come; one v1 that holds is enough).
	WebhookCircleCIHMAC WebhookScheme = "circleci-hmac-sha256"
)

// WebhookSecretField declares WebhookSecretRef; how describes how the
// provider signs with it.
func WebhookSecretField(how string) Field {
	return Field{Name: WebhookSecretRef, Type: TypeString, Secret: true,
		Description: "Credential reference to the webhook secret (key value or secret): " + how +
			" POST /api/v1/hooks/{integrationId} accepts the provider's webhook only when it holds, and reads the integration's open runs at once."}
}

// CommonFields are the fields every integration config has plus the TLS
// options every HTTP connector honours. A provider may redeclare one (to make
// url required, say).
var CommonFields = []Field{
	{Name: "url", Type: TypeURL, Description: "Base URL of the external system."},
	{Name: "timeout", Type: TypeInt, Min: 1, Max: 300, Default: 30, Description: "Per-request timeout in seconds."},
	{Name: "retries", Type: TypeInt, Min: 0, Max: 10, Default: 3, Description: "Retries of a retryable error (CONNECTION_REFUSED, TIMEOUT, UPSTREAM_ERROR, RATE_LIMITED, …) in scheduled health checks, discoveries and notification deliveries: retries+1 attempts in all, within the service's time limit; 0 tries once. On-demand tests never retry."},
	{Name: "insecureSkipVerify", Type: TypeBool, Default: false, Description: "Skip TLS certificate verification (testing only)."},
	{Name: "caCert", Type: TypeString, MaxLength: 65536, Description: "PEM CA certificate(s) trusted in addition to the system roots."},
	{Name: "clientCert", Type: TypeString, MaxLength: 65536, Description: "PEM client certificate for mutual TLS."},
	{Name: "clientKeyRef", Type: TypeString, Secret: true, Description: "Credential reference to the PEM key of clientCert."},
	{Name: "connectivityCheckSeconds", Type: TypeInt, Min: 5, Max: 86400, Description: "Connectivity check period for this integration (default 60)."},
	{Name: "authenticationCheckSeconds", Type: TypeInt, Min: 5, Max: 86400, Description: "Authentication check period for this integration (default 300)."},
	{Name: "functionalityCheckSeconds", Type: TypeInt, Min: 5, Max: 86400, Description: "Functionality check period for this integration (default 900)."},
	{Name: "rateLimitPerSecond", Type: TypeInt, Min: 1, Max: 10000, Default: 20, Description: "Outbound requests per second this integration may send (every HTTP request counts: token exchanges, redirects and each page of a discovery), with a burst of one second's worth; more wait their turn, so one large discovery cannot use up the tenant's quota at the vendor."},
	{Name: "maxConcurrentRequests", Type: TypeInt, Min: 1, Max: 256, Default: 8, Description: "Outbound requests of this integration in flight at once; more wait their turn."},
	{Name: "discoveryCacheTTLSeconds", Type: TypeInt, Min: 0, Max: 86400, Description: "Discovery cache TTL for every resource type of this integration, in seconds; 0 turns its cache off (default: per resource type, e.g. repositories 3600, tags 300)."},
}

// ValidateConfig checks cfg against the spec: unknown fields, missing
// required fields, wrong types, bad URLs, literal secrets and values that
// break a field's rules (enum, pattern, bounds, check) are refused, each
// with its own code and details.field naming the field (and details.index
// the element of a list). It does not mutate cfg.
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
	for f := range s.AllFields() {
		if !f.Required {
			continue
		}
		if v, ok := cfg[f.Name]; !ok || v == nil || v == "" {
			return apierr.BadRequest(apierr.MissingRequiredField, "config field %q is required by provider %q", f.Name, s.ID).With("field", f.Name)
		}
	}
	return nil
}

// check checks one value (nil is "not set" and passes).
func (f Field) check(v any) error {
	if v == nil {
		return nil
	}
	switch f.Type {
	case TypeString, TypeURL, TypeEnum:
		s, ok := v.(string)
		if !ok {
			return f.wrongType("a string")
		}
		if s == "" {
			return nil
		}
		return f.checkString(s, -1)
	case TypeInt:
		n, ok := asInt(v)
		if !ok {
			return f.wrongType("an integer")
		}
		if f.Min != 0 || f.Max != 0 {
			if n < f.Min || (f.Max != 0 && n > f.Max) {
				return f.badValue(-1, "must be %s", f.rangeText())
			}
		}
	case TypeBool:
		if _, ok := v.(bool); !ok {
			return f.wrongType("a boolean")
		}
	case TypeStringList:
		list, ok := asStrings(v)
		if !ok {
			return f.wrongType("a list of strings")
		}
		max := f.Max
		if max == 0 {
			max = MaxListLength
		}
		if len(list) < f.Min || len(list) > max {
			return f.badValue(-1, "must hold %s entries", rangeText(f.Min, max))
		}
		for i, e := range list {
			if err := f.checkString(e, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkString applies the string rules to s, a list's element i when
// i >= 0. Errors never echo the value: a secret field's could be a secret.
func (f Field) checkString(s string, i int) error {
	max := f.MaxLength
	if max == 0 {
		max = DefaultMaxLength
	}
	if len(s) > max {
		return f.badValue(i, "is longer than %d characters", max)
	}
	if len(s) < f.MinLength {
		return f.badValue(i, "is shorter than %d characters", f.MinLength)
	}
	if f.Secret {
		if !credentials.IsRef(s) {
			return apierr.BadRequest(apierr.LiteralSecret,
				"config field %q is secret: give a credential reference (vault://, authref://, env://, file://), not the value", f.Name).With("field", f.Name)
		}
		return nil
	}
	if f.Type == TypeURL {
		if err := checkURL(s); err != nil {
			return apierr.BadRequest(apierr.InvalidURL, "config field %q: %s", f.Name, err.Error()).With("field", f.Name)
		}
	}
	if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
		return f.badValue(i, "must be one of %s", strings.Join(f.Enum, ", "))
	}
	if f.Pattern != nil && !f.Pattern.MatchString(s) {
		return f.badValue(i, "must be %s", f.PatternDescription)
	}
	if f.Check != nil {
		if err := f.Check(s); err != nil {
			return f.badValue(i, "%s", err.Error())
		}
	}
	return nil
}

func (f Field) wrongType(want string) error {
	return apierr.BadRequest(apierr.InvalidFieldType, "config field %q must be %s", f.Name, want).With("field", f.Name)
}

// badValue is INVALID_FIELD_VALUE on the field, on its element i if i >= 0.
func (f Field) badValue(i int, format string, args ...any) error {
	what := fmt.Sprintf("config field %q", f.Name)
	if i >= 0 {
		what = fmt.Sprintf("element %d of config field %q", i, f.Name)
	}
	e := apierr.BadRequest(apierr.InvalidFieldValue, "%s %s", what, fmt.Sprintf(format, args...)).With("field", f.Name)
	if i >= 0 {
		e = e.With("index", i)
	}
	return e
}

func (f Field) rangeText() string { return rangeText(f.Min, f.Max) }

func rangeText(min, max int) string {
	if max == 0 {
		return fmt.Sprintf("at least %d", min)
	}
	return fmt.Sprintf("between %d and %d", min, max)
}

// asInt reads a JSON number (float64) or an int that is a whole number.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}

// asStrings reads a JSON array of strings ([]any) or a []string.
func asStrings(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return l, true
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// URLShape is what a URL may carry beyond the rule every URL field shares:
// absolute http or https with a host, and no user info (credentials in a
// URL would be a literal secret stored in the catalog).
type URLShape struct {
	// HTTPSOnly refuses plain http: the endpoint receives tokens.
	HTTPSOnly bool
	// Query lets a query through, for a URL used whole (a webhook's). A
	// base URL refuses one: the API paths appended to it would land after
	// the query.
	Query bool
	// Fragment lets a fragment through; it is never sent.
	Fragment bool
}

// ParseURL reads raw by the URL rules and shape. It is the one home of
// those rules: the field checks use it when an integration is saved and
// the connector kit when a connector is built, so a URL saved with 201
// also builds. Errors say what is wrong without quoting raw.
func ParseURL(raw string, shape URLShape) (*url.URL, error) {
	want := "an absolute http or https URL"
	if shape.HTTPSOnly {
		want = "an absolute https URL"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Hostname() == "" || (u.Scheme != "https" && (shape.HTTPSOnly || u.Scheme != "http")):
		return nil, fmt.Errorf("must be %s", want)
	case u.User != nil:
		return nil, errors.New("must not carry user info: use credentialRef")
	case !shape.Fragment && strings.Contains(raw, "#"):
		// url.URL forgets an empty fragment ("…/#"): look at the text.
		return nil, errors.New("must not carry a fragment")
	case !shape.Query && (u.RawQuery != "" || u.ForceQuery):
		return nil, errors.New("must not carry a query")
	}
	return u, nil
}

// checkURL is the rule of every TypeURL field.
func checkURL(s string) error {
	_, err := ParseURL(s, URLShape{Query: true, Fragment: true})
	return err
}

// BaseURL is a Check for URL fields an API path is appended to: a query or
// fragment there would be lost or misplaced.
func BaseURL(s string) error {
	_, err := ParseURL(s, URLShape{})
	return err
}

// HTTPSBaseURL is BaseURL for endpoints that receive tokens: https only.
func HTTPSBaseURL(s string) error {
	_, err := ParseURL(s, URLShape{HTTPSOnly: true})
	return err
}

// RegistryURL is a Check for the base of a registry API v2: the API lives
// at /v2/ of its host, so the URL is a scheme and host (a trailing "/" at
// most), with no path, query or fragment.
func RegistryURL(s string) error {
	u, err := ParseURL(s, URLShape{})
	if err != nil {
		return err
	}
	if u.Path != "" && u.Path != "/" {
		return errors.New("must be the registry's scheme and host: the registry API v2 lives at the root of its host")
	}
	return nil
}

// NoFragment is a Check for URL fields that are used whole (a webhook's
// query may matter; a fragment is never sent).
func NoFragment(s string) error {
	_, err := ParseURL(s, URLShape{Query: true})
	return err
}

// PlainPath is a Check for relative paths of plain segments (no empty,
// "." or ".." segment, none of ?#%\): they are joined into API paths.
func PlainPath(s string) error {
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "?#%\\") {
			return fmt.Errorf("must be a path of plain segments (no empty, '.' or '..' segments, none of ?#%%\\)")
		}
	}
	return nil
}

func fieldNames(fs iter.Seq[Field]) []string {
	var out []string
	for f := range fs {
		out = append(out, f.Name)
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
