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

import "github.com/stella-ops/inthub/shared/connectors/secrets/gcpsm/spec"

// decl is the provider's declaration (package spec); New reads the config
// through it.
var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// Names of the declaration this package uses.
const (
	ProviderID      = spec.ProviderID
	DefaultEndpoint = spec.DefaultEndpoint
	DefaultTokenURL = spec.DefaultTokenURL
)

// Scope is what the token is asked for.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// The declaration's name rules.
var (
	projectID        = spec.ProjectID
	splitVersionPath = spec.SplitVersionPath
)
