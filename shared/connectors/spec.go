// Package connectors defines what a provider is (its Spec), the capability
// interfaces a connector may implement, and the registry the manager's type
// registry and GET /providers are built from. Each provider lives in its own
// folder connectors/<category>/<provider>: its declaration (a Spec without a
// factory) in the sub-package spec, which imports nothing heavy, and its
// implementation in the folder's package. connectors/specs lists the
// declarations (one line per provider), for services that only validate and
// list; connectors/all, generated from that list, adds the factories.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/stella-ops/inthub/shared/contracts"
)

// Category groups providers; the CLI's --type takes one of these.
type Category string

// The categories of integration types, object storage and SCM
// from its live-catalog section.
const (
	CategoryRegistry      Category = "registry"
	CategoryCICD          Category = "cicd"
	CategorySCM           Category = "scm"
	CategoryNotification  Category = "notification"
	CategorySecretStore   Category = "secretstore"
	CategoryMetrics       Category = "metrics"
	CategoryObjectStorage Category = "objectstorage"
)

// Categories lists every category in display order.
var Categories = []Category{
	CategoryRegistry, CategoryCICD, CategorySCM, CategoryNotification,
	CategorySecretStore, CategoryMetrics, CategoryObjectStorage,
}

// Capability names a behaviour a provider offers.
type Capability string

// The capabilities a provider may declare; each has an interface in capability.go.
const (
	CapCheck      Capability = "check"
	CapDiscover   Capability = "discover"
	CapTrigger    Capability = "trigger"
	CapNotify     Capability = "notify"
	CapQuery      Capability = "query"
	CapReadSecret Capability = "read-secret"
	// CapFollowRuns reads the state of and cancels runs a trigger started.
	CapFollowRuns Capability = "follow-runs"
)

// The credential types an integration may use.
const (
	CredBasic          = "basic"
	CredToken          = "token"
	CredAPIKey         = "api-key"
	CredOAuth2         = "oauth2"
	CredServiceAccount = "service-account"
	CredCertificate    = "certificate"
)

// Spec declares a provider: everything the catalog, the API, the CLI and
// config validation know about it comes from here.
type Spec struct {
	ID          string
	Name        string
	Description string
	Category    Category
	// Aliases are other ids accepted on input (e.g. "gitlabserver").
	Aliases []string
	// Fields are the provider's own config fields; CommonFields are added.
	Fields []Field
	// CredentialTypes the provider accepts; empty means it needs none.
	CredentialTypes []string
	// CredentialRequired makes credentialRef mandatory.
	CredentialRequired bool
	// Webhook, when set, is how the provider signs the webhooks that move
	// its runs (with the WebhookSecretField among Fields).
	Webhook     WebhookScheme
	CheckLevels []contracts.CheckType
	// ResourceTypes are the discoverable resource types; empty = no discovery.
	ResourceTypes []string
	Capabilities  []Capability
	// CheckDescriptions says, for each of CheckLevels, what the check does
	// (one or two sentences, for the provider's documentation).
	CheckDescriptions map[contracts.CheckType]string
	// Example is a working configuration, shown in the provider's
	// documentation and validated by the tests.
	Example Example
	// TestOnly providers are hidden from GET /providers unless asked for.
	TestOnly bool
	// OwnTransport providers send nothing through Instance.HTTP (in-memory
	// data, SMTP over the guarded dialer, a client of their own): the
	// runtime builds them none and Instance.HTTP is nil, so a hub holding
	// many of them keeps no per-integration HTTP client.
	OwnTransport bool
	// New builds a connector for one integration revision. Declarations
	// (the spec sub-packages) leave it nil; the implementation package
	// sets it with WithFactory.
	New Factory
}

// Example is an example integration of a provider.
type Example struct {
	Config        map[string]any
	CredentialRef string
}

// WithFactory returns a copy of the declaration s with its factory: the
// implementation package's Spec. Fields and lists are shared, not copied.
func (s *Spec) WithFactory(f Factory) *Spec {
	c := *s
	c.New = f
	return &c
}

// CheckDeclaration reports mistakes in the declaration itself: duplicate or
// unnamed fields, an enum without values, a pattern without a description,
// a default of the wrong type or that breaks its own rules, an example that
// is not a valid config. The registry refuses such a spec. (That every
// shipped provider documents its check levels and has an example is a test
// of connectors/specs.)
func (s *Spec) CheckDeclaration() error {
	var errs []error
	seen := map[string]bool{}
	for _, f := range s.Fields {
		switch {
		case f.Name == "" || seen[f.Name]:
			errs = append(errs, fmt.Errorf("field %q is unnamed or declared twice", f.Name))
		case f.Type == TypeEnum && len(f.Enum) == 0:
			errs = append(errs, fmt.Errorf("enum field %q lists no values", f.Name))
		case f.Pattern != nil && f.PatternDescription == "":
			errs = append(errs, fmt.Errorf("field %q has a pattern without a description", f.Name))
		case f.Default != nil && !defaultFits(f):
			errs = append(errs, fmt.Errorf("default of field %q is not a %s", f.Name, f.Type))
		}
		seen[f.Name] = true
		if f.Default != nil {
			if err := f.check(f.Default); err != nil {
				errs = append(errs, fmt.Errorf("default of field %q: %w", f.Name, err))
			}
		}
	}
	if s.Example.Config != nil {
		if err := s.ValidateConfig(s.Example.Config); err != nil {
			errs = append(errs, fmt.Errorf("example: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("provider %s: %w", s.ID, err)
	}
	return nil
}

// defaultFits reports whether f.Default has the Go type Values returns.
func defaultFits(f Field) bool {
	switch f.Type {
	case TypeString, TypeURL, TypeEnum:
		_, ok := f.Default.(string)
		return ok
	case TypeInt:
		_, ok := f.Default.(int)
		return ok
	case TypeBool:
		_, ok := f.Default.(bool)
		return ok
	case TypeStringList:
		_, ok := f.Default.([]string)
		return ok
	}
	return false
}

// Factory builds a connector for one integration revision.
type Factory func(ctx context.Context, in Instance) (Connector, error)

// AllFields yields the provider's fields followed by the common ones it
// does not override. It yields rather than returns a slice: validating
// every create and update walked a fresh copy of them all.
func (s *Spec) AllFields() iter.Seq[Field] {
	return func(yield func(Field) bool) {
		for _, f := range s.Fields {
			if !yield(f) {
				return
			}
		}
		for _, c := range CommonFields {
			if s.field(c.Name) == nil && !yield(c) {
				return
			}
		}
	}
}

func (s *Spec) field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// Field returns the named field, common fields included, or nil.
func (s *Spec) Field(name string) *Field {
	if f := s.field(name); f != nil {
		return f
	}
	for i := range CommonFields {
		if CommonFields[i].Name == name {
			return &CommonFields[i]
		}
	}
	return nil
}

// SupportsDiscovery reports whether the provider discovers anything.
func (s *Spec) SupportsDiscovery() bool { return len(s.ResourceTypes) > 0 }

// HasResourceType reports whether rt is discoverable.
func (s *Spec) HasResourceType(rt string) bool { return slices.Contains(s.ResourceTypes, rt) }

// Info renders the spec as the API's provider entry.
func (s *Spec) Info() contracts.ProviderInfo {
	info := contracts.ProviderInfo{
		ID: s.ID, Name: s.Name, Category: string(s.Category), Description: s.Description,
		Aliases: s.Aliases, IsTestOnly: s.TestOnly, SupportsDiscovery: s.SupportsDiscovery(),
		SupportedResourceTypes: nonNil(s.ResourceTypes), CredentialTypes: nonNil(s.CredentialTypes),
		CheckLevels: []string{}, Capabilities: []string{}, ConfigFields: []contracts.ConfigField{},
	}
	for _, l := range s.CheckLevels {
		info.CheckLevels = append(info.CheckLevels, string(l))
	}
	for _, c := range s.Capabilities {
		info.Capabilities = append(info.Capabilities, string(c))
	}
	for f := range s.AllFields() {
		info.ConfigFields = append(info.ConfigFields, f.Info())
	}
	return info
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
