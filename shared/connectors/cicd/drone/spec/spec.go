// Package spec declares the Drone provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"regexp"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "drone"

// The discoverable resource types.
const (
	ResourceRepositories = "repositories"
	ResourceBuilds       = "builds"
)

// NamePart is a repository owner (namespace) or name as Drone's API path
// takes it: {owner}/{name}, each one segment of letters, digits, '.', '_'
// and '-'.
var NamePart = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)

// CheckNamePart refuses what NamePart lets through but no SCM names a
// repository: "." and "..", which would also climb URL paths.
func CheckNamePart(s string) error {
	if s == "." || s == ".." {
		return errors.New("must not be '.' or '..'")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Drone CI",
	Description: "Drone repositories and their builds; starts custom builds of a branch or commit with parameters and follows them, stage by stage, to their result.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Drone server URL, e.g. https://drone.example.com/."},
		{Name: "namespace", Type: connectors.TypeString, MaxLength: 255, Pattern: NamePart, Check: CheckNamePart,
			PatternDescription: "a repository owner (letters, digits, '.', '_' and '-')",
			Description:        "Owner (user or organization) whose repositories discovery lists; every repository the token sees when unset."},
		connectors.WebhookSecretField("the secret of Drone's global webhooks (DRONE_WEBHOOK_SECRET, with DRONE_WEBHOOK_ENDPOINT pointing at the hub), with which Drone signs each delivery: an HTTP Signature (hmac-sha256) over its Date and Digest headers."),
	},
	CredentialTypes:    []string{connectors.CredToken},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads /api/user without the token: Drone's 401 proves its API is there.",
		contracts.CheckAuthentication: "Reads the token's user (/api/user): 401 is a token Drone does not know.",
		contracts.CheckFunctionality:  "Lists the repositories the token's user sees (/api/user/repos).",
	},
	ResourceTypes: []string{ResourceRepositories, ResourceBuilds},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Webhook:       connectors.WebhookDroneSignature,
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://drone.example.com/", "namespace": "octocat"},
		CredentialRef: "vault://vault-1/drone/release-bot#token",
	},
}
