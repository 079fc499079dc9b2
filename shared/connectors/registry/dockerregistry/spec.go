// Package dockerregistry is the Docker Registry HTTP API v2 provider (the
// CNCF distribution registry and the registries that speak its API): health
// checks over /v2/, discovery of repositories (/v2/_catalog) and tags
// (/v2/<name>/tags/list) with Link-header pagination, and the registry auth
// flow (Basic, or Bearer tokens from the realm a 401 challenge names).
//
// It is the OCI core (registry/oci, go-containerregistry over the guarded
// transport) with the registry's own /v2/_catalog as its repository
// listing, as every vendor provider is the core with its vendor's listing.
package dockerregistry

import "github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID           = spec.ProviderID
	ResourceRepositories = spec.ResourceRepositories
	ResourceTags         = spec.ResourceTags
	maxRepositoryLength  = spec.MaxRepositoryLength
)

// repositoryName is the declaration's repository name grammar.
var repositoryName = spec.RepositoryName
