// Package gcpsm is the GCP Secret Manager provider: a secret store that
// credential references read from (secret versions, "latest" or a number
// or alias), authenticated with a service-account key.
//
// It is hand-written over the Secret Manager REST API (v1) and
// golang.org/x/oauth2/jwt rather than built on cloud.google.com/go/
// secretmanager: that client is gRPC-first and brings gRPC, genproto,
// google.golang.org/api and their instrumentation for what is here three
// GET requests (access a version, list secrets for the checks) and a token
// exchange; over REST every request goes through the hub's guarded client
// and carries the hub's error codes directly. The token exchange is the
// documented service-account flow: a JWT signed with the key, exchanged at
// the key's token_uri for an OAuth2 access token (cached until it expires).
//
// Health: connectivity is an unauthenticated request to the API (any answer
// proves it is reachable); authentication obtains a new access token;
// functionality reads the canary secret, or lists one secret.
package gcpsm

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the spec's type id.
const ProviderID = "gcp-secret-manager"

// Defaults of the Google endpoints.
const (
	DefaultEndpoint = "https://secretmanager.googleapis.com"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
	// Scope is what the token is asked for.
	Scope = "https://www.googleapis.com/auth/cloud-platform"
)

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:   ProviderID,
	Name: "GCP Secret Manager",
	Description: "Google Cloud Secret Manager: credential references vault://<this integration>/<secret>[/versions/<version or alias>]#<key> " +
		"read a secret version (latest by default).",
	Category: connectors.CategorySecretStore,
	Fields: []connectors.Field{
		{Name: "project", Type: connectors.TypeString, Required: true, MaxLength: 128, Description: "Project ID (or number) holding the secrets."},
		{Name: "url", Type: connectors.TypeURL, Description: "API endpoint override (Private Service Connect); default " + DefaultEndpoint + "."},
		{Name: "tokenUrl", Type: connectors.TypeURL, Description: "OAuth2 token endpoint override; default the key's token_uri, else " + DefaultTokenURL + "."},
		{Name: "canarySecret", Type: connectors.TypeString, MaxLength: 512, Description: "Secret (and optional /versions/<v>) the functionality check reads."},
	},
	CredentialTypes:    []string{connectors.CredServiceAccount},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	Capabilities:       []connectors.Capability{connectors.CapCheck, connectors.CapReadSecret},
	New:                New,
}
