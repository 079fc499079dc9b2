// Package connectors defines what a provider is (its Spec), the capability
// interfaces a connector may implement, and the registry the manager's type
// registry and GET /providers are built from. Each provider lives in its own
// package under connectors/<category>/<provider> and registers itself in
// connectors/all.
package connectors

import (
	"context"
	"slices"

	"github.com/stella-ops/inthub/shared/contracts"
)

// Category groups providers; the CLI's --type takes one of these.
type Category string

// The categories of the spec's integration types, plus object storage and SCM
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

// The capabilities of ARCHITECTURE.md; each has an interface in capability.go.
const (
	CapCheck      Capability = "check"
	CapDiscover   Capability = "discover"
	CapTrigger    Capability = "trigger"
	CapNotify     Capability = "notify"
	CapQuery      Capability = "query"
	CapReadSecret Capability = "read-secret"
)

// The spec's credential types.
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
	CheckLevels        []contracts.CheckType
	// ResourceTypes are the discoverable resource types; empty = no discovery.
	ResourceTypes []string
	Capabilities  []Capability
	// TestOnly providers are hidden from GET /providers unless asked for.
	TestOnly bool
	// New builds a connector for one integration revision.
	New Factory
}

// Factory builds a connector for one integration revision.
type Factory func(ctx context.Context, in Instance) (Connector, error)

// AllFields returns the provider's fields followed by the common ones it
// does not override.
func (s *Spec) AllFields() []Field {
	out := append([]Field{}, s.Fields...)
	for _, c := range CommonFields {
		if s.field(c.Name) == nil {
			out = append(out, c)
		}
	}
	return out
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
	for _, f := range s.AllFields() {
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
