// Package spec declares the HashiCorp Vault provider: its config fields and
// their rules, credentials and capabilities. It imports nothing heavy, so
// services that only validate or list providers link no implementation
// (here, the Vault client).
package spec

import (
	"fmt"
	"path"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "hashicorp-vault"

// The authentication methods.
const (
	AuthToken      = "token"
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
)

// DefaultKubernetesTokenPath is where a pod's service-account token is.
const DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// KubernetesTokenDir is the only directory a service-account token is read
// from: the path is tenant configuration, and the file's content is sent
// to the tenant's Vault.
const KubernetesTokenDir = "/var/run/secrets/"

// CheckPath accepts a Vault path of plain segments, with or without
// slashes around (they are trimmed).
func CheckPath(s string) error { return connectors.PlainPath(strings.Trim(s, "/")) }

// CheckKubernetesTokenPath accepts a clean path under KubernetesTokenDir.
func CheckKubernetesTokenPath(s string) error {
	if clean := path.Clean(s); clean != s || !strings.HasPrefix(clean, KubernetesTokenDir) {
		return fmt.Errorf("must be a clean path under %s", KubernetesTokenDir)
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "HashiCorp Vault",
	Description: "HashiCorp Vault KV secrets engine (v1 and v2): credential references vault://<this integration>/<path>#<key> read from it.",
	Category:    connectors.CategorySecretStore,
	Aliases:     []string{"vault"},
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL, Description: "Vault address, e.g. https://vault.example.com:8200."},
		{Name: "namespace", Type: connectors.TypeString, MaxLength: 256, Description: "Vault Enterprise namespace (sent as X-Vault-Namespace)."},
		{Name: "mountPath", Type: connectors.TypeString, Required: true, MaxLength: 256, Check: CheckPath, Description: "Mount path of the KV secrets engine, e.g. secret."},
		{Name: "kvVersion", Type: connectors.TypeEnum, Enum: []string{"1", "2"}, Default: "2", Description: "Version of the KV secrets engine at mountPath."},
		{Name: "authMethod", Type: connectors.TypeEnum, Enum: []string{AuthToken, AuthAppRole, AuthKubernetes}, Default: AuthToken,
			Description: "token: credentialRef holds the token; approle: roleId and secretIdRef; kubernetes: kubernetesRole and the pod's service-account token."},
		{Name: "authMountPath", Type: connectors.TypeString, MaxLength: 256, Check: CheckPath, Description: "Mount path of the auth method (default approle or kubernetes)."},
		{Name: "roleId", Type: connectors.TypeString, MaxLength: 256, Description: "AppRole role ID."},
		{Name: "secretIdRef", Type: connectors.TypeString, Secret: true, Description: "env:// or file:// reference to the AppRole secret ID."},
		{Name: "kubernetesRole", Type: connectors.TypeString, MaxLength: 256, Description: "Vault role of the Kubernetes auth method."},
		{Name: "kubernetesTokenPath", Type: connectors.TypeString, MaxLength: 512, Default: DefaultKubernetesTokenPath, Check: CheckKubernetesTokenPath,
			Description: "Service-account token file (under /var/run/secrets/)."},
		{Name: "canaryPath", Type: connectors.TypeString, MaxLength: 512, Check: CheckPath,
			Description: "Secret path (under mountPath) the functionality check reads; without it the check asks the token's capabilities on the mount."},
	},
	// The store's own credential: its token (authMethod token), as an env://
	// or file:// reference only.
	CredentialTypes: []string{connectors.CredToken},
	CheckLevels:     contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "sys/health: sealed, uninitialised or a DR secondary is unhealthy; a standby is fine.",
		contracts.CheckAuthentication: "Logs in (AppRole, Kubernetes) when needed and looks the token up (auth/token/lookup-self).",
		contracts.CheckFunctionality:  "Checks the KV mount and reads canaryPath; without it, asks the token's capabilities on the mount.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://vault.example.com:8200", "mountPath": "secret", "canaryPath": "inthub/canary"},
		CredentialRef: "env://INTHUB_SECRET_ACME_VAULT",
	},
}
