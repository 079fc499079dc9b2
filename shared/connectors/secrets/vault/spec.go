// Package vault is the HashiCorp Vault provider: a secret store whose KV
// mounts (version 1 and 2) credential references read from, through the
// official client github.com/hashicorp/vault/api configured with the hub's
// guarded HTTP client. It logs in with a token, AppRole or Kubernetes auth,
// renews its token before it expires and logs in again when it cannot.
//
// Health: connectivity is sys/health (sealed, uninitialised or DR-secondary
// is unhealthy, standby is fine); authentication is a token lookup-self;
// functionality checks the mount and reads the configured canary secret.
package vault

import "github.com/stella-ops/inthub/shared/connectors/secrets/vault/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID                 = spec.ProviderID
	AuthToken                  = spec.AuthToken
	AuthAppRole                = spec.AuthAppRole
	AuthKubernetes             = spec.AuthKubernetes
	DefaultKubernetesTokenPath = spec.DefaultKubernetesTokenPath
	kubernetesTokenDir         = spec.KubernetesTokenDir
)
