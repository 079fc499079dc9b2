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

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "hashicorp-vault"

// The authentication methods.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
)

// DefaultKubernetesTokenPath is where a pod's service-account token is.
const DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// kubernetesTokenDir is the only directory a service-account token is read
// from: the path is tenant configuration, and the file's content is sent
// to the tenant's Vault.
const kubernetesTokenDir = "/var/run/secrets/"

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "HashiCorp Vault",
	Description: "HashiCorp Vault KV secrets engine (v1 and v2): credential references vault://<this integration>/<path>#<key> read from it.",
	Category:    connectors.CategorySecretStore,
	Aliases:     []string{"vault"},
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Description: "Vault address, e.g. https://vault.example.com:8200."},
		{Name: "namespace", Type: connectors.TypeString, MaxLength: 256, Description: "Vault Enterprise namespace (sent as X-Vault-Namespace)."},
		{Name: "mountPath", Type: connectors.TypeString, Required: true, MaxLength: 256, Description: "Mount path of the KV secrets engine, e.g. secret."},
		{Name: "kvVersion", Type: connectors.TypeEnum, Enum: []string{"1", "2"}, Default: "2", Description: "Version of the KV secrets engine at mountPath."},
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthToken, AuthAppRole, AuthKubernetes}, Default: AuthToken,
			Description: "token: credentialRef holds the token; approle: roleId and secretIdRef; kubernetes: kubernetesRole and the pod's service-account token."},
		{Name: "authMountPath", Type: connectors.TypeString, MaxLength: 256, Description: "Mount path of the auth method (default approle or kubernetes)."},
		{Name: "roleId", Type: connectors.TypeString, MaxLength: 256, Description: "AppRole role ID."},
		{Name: "secretIdRef", Type: connectors.TypeString, Secret: true, Description: "env:// or file:// reference to the AppRole secret ID."},
		{Name: "kubernetesRole", Type: connectors.TypeString, MaxLength: 256, Description: "Vault role of the Kubernetes auth method."},
		{Name: "kubernetesTokenPath", Type: connectors.TypeString, MaxLength: 512, Default: DefaultKubernetesTokenPath,
			Description: "Service-account token file (under /var/run/secrets/)."},
		{Name: "canaryPath", Type: connectors.TypeString, MaxLength: 512,
			Description: "Secret path (under mountPath) the functionality check reads; without it the check asks the token's capabilities on the mount."},
	},
	// The store's own credential: its token (authMethod token), as an env://
	// or file:// reference only.
	CredentialTypes: []string{connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	New:             New,
}
