// Package spec declares the GCP Secret Manager provider: its config fields
// and their rules, credentials and capabilities. It imports nothing heavy,
// so services that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"regexp"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "gcp-secret-manager"

// Defaults of the Google endpoints.
const (
	DefaultEndpoint = "https://secretmanager.googleapis.com"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
)

// Name rules of Secret Manager.
var (
	ProjectID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$|^[0-9]+$`)
	SecretID  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	VersionID = regexp.MustCompile(`^(latest|[0-9]+|[A-Za-z0-9_-]{1,63})$`)
)

// The ways a secret path is wrong.
var (
	ErrPathShape = errors.New("a GCP secret path is <secret>, <secret>/<version> or <secret>/versions/<version>")
	ErrPathNames = errors.New("GCP secret ids hold letters, digits, - and _; versions are numbers, latest or an alias")
)

// SplitVersionPath reads a path: <secret>, <secret>/<version> or
// <secret>/versions/<version>, the version a number, "latest" or an alias.
func SplitVersionPath(p string) (secret, version string, err error) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 1:
		secret, version = parts[0], "latest"
	case len(parts) == 2:
		secret, version = parts[0], parts[1]
	case len(parts) == 3 && parts[1] == "versions":
		secret, version = parts[0], parts[2]
	default:
		return "", "", ErrPathShape
	}
	if !SecretID.MatchString(secret) || !VersionID.MatchString(version) {
		return "", "", ErrPathNames
	}
	return secret, version, nil
}

func checkVersionPath(s string) error {
	_, _, err := SplitVersionPath(s)
	return err
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:   ProviderID,
	Name: "GCP Secret Manager",
	Description: "Google Cloud Secret Manager: credential references vault://<this integration>/<secret>[/versions/<version or alias>]#<key> " +
		"read a secret version (latest by default).",
	Category: connectors.CategorySecretStore,
	Fields: []connectors.Field{
		{Name: "project", Type: connectors.TypeString, Required: true, MaxLength: 128, Pattern: ProjectID,
			PatternDescription: "a GCP project ID (lowercase letters, digits and '-') or project number", Description: "Project ID (or number) holding the secrets."},
		{Name: "url", Type: connectors.TypeURL, Default: DefaultEndpoint, Check: connectors.BaseURL, Description: "API endpoint (another for Private Service Connect)."},
		{Name: "tokenUrl", Type: connectors.TypeURL, Check: connectors.BaseURL, Description: "OAuth2 token endpoint override; default the key's token_uri, else " + DefaultTokenURL + "."},
		{Name: "canarySecret", Type: connectors.TypeString, MaxLength: 512, Check: checkVersionPath, Description: "Secret (and optional /versions/<v>) the functionality check reads."},
	},
	CredentialTypes:    []string{connectors.CredServiceAccount},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "An unauthenticated request to the API: any answer proves it is reachable.",
		contracts.CheckAuthentication: "Obtains a new access token with the service-account key (a signed JWT exchanged at the token endpoint).",
		contracts.CheckFunctionality:  "Reads canarySecret, or lists one secret.",
	},
	Capabilities: []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	Example: connectors.Example{
		Config:        map[string]any{"project": "acme-prod", "canarySecret": "inthub-canary"},
		CredentialRef: "file:///run/secrets/inthub/acme/gcp-key.json",
	},
}
