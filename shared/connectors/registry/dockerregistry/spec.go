// Package dockerregistry is the Docker Registry HTTP API v2 provider (the
// CNCF distribution registry and the registries that speak its API): health
// checks over /v2/, discovery of repositories (/v2/_catalog) and tags
// (/v2/<name>/tags/list) with Link-header pagination, and the registry auth
// flow (Basic, or Bearer tokens from the realm a 401 challenge names).
//
// It is hand-written over httpx rather than built on go-containerregistry:
// it needs four calls, each must carry the hub's error codes, fetch its
// credentials per call, page one Link at a time behind an opaque cursor and
// cache tokens for their expires_in — all of which go-containerregistry's
// transport decides its own way (ping and token per call, its own errors).
package dockerregistry

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "docker-registry"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceTags         = "tags"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Docker Registry",
	Description: "Docker Registry HTTP API v2 (CNCF distribution and compatible registries).",
	Category:    connectors.CategoryRegistry,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true,
			Description: "Registry base URL, e.g. https://registry.example.com (the API is under /v2/)."},
		{Name: "repository", Type: connectors.TypeString, MaxLength: maxRepositoryLength,
			Description: "Default repository, e.g. myorg/myapp: tags discovery uses it when the filter names none."},
		{Name: "resolveDigests", Type: connectors.TypeBool, Default: false,
			Description: "Add each tag's manifest digest to tags discovery (one HEAD request per tag)."},
	},
	CredentialTypes: []string{connectors.CredBasic, connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	ResourceTypes:   []string{ResourceRepositories, ResourceTags},
	Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
	New:             New,
}
