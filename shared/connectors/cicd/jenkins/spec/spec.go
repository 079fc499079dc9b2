// Package spec declares the Jenkins provider: its config fields and their
// rules, credentials and capabilities. It imports nothing heavy, so services
// that only validate or list providers link no implementation.
package spec

import (
	"errors"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
)

// ProviderID is the provider's type id.
const ProviderID = "jenkins"

// The discoverable resource types.
const (
	ResourceJobs      = "jobs"
	ResourcePipelines = "pipelines"
)

// ValidFullName accepts a job's full name: segments separated by '/', none
// empty, '.' or '..', no control characters.
func ValidFullName(name string) bool {
	if name == "" || len(name) > 2048 {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return false
		}
	}
	return true
}

// checkFolder accepts a folder's full name, with or without slashes around.
func checkFolder(s string) error {
	if !ValidFullName(strings.Trim(s, "/")) {
		return errors.New("must be a folder's full name (team/sub): segments separated by '/', none empty, '.' or '..'")
	}
	return nil
}

// Spec declares the provider.
var Spec = &connectors.Spec{
	ID:          ProviderID,
	Name:        "Jenkins",
	Description: "Jenkins jobs and Pipelines, through folders and multibranch projects; triggers builds and follows them (queue item, then build) to their result.",
	Category:    connectors.CategoryCICD,
	Fields: []connectors.Field{
		{Name: "url", Type: connectors.TypeURL, Required: true, Check: connectors.BaseURL,
			Description: "Jenkins root URL, e.g. https://jenkins.example.com/ (or …/jenkins/ under a prefix)."},
		{Name: "folder", Type: connectors.TypeString, MaxLength: 1024, Check: checkFolder,
			Description: "Full name of the folder discovery starts from (e.g. team-a); the whole controller when unset."},
		{Name: "refParameter", Type: connectors.TypeString, MaxLength: 255,
			Description: "Build parameter receiving a trigger's ref (e.g. BRANCH); when unset, a ref selects the branch job of a multibranch Pipeline."},
	},
	CredentialTypes:    []string{connectors.CredBasic},
	CredentialRequired: true,
	CheckLevels:        contracts.CheckTypes,
	CheckDescriptions: map[contracts.CheckType]string{
		contracts.CheckConnectivity:   "Reads the root API without credentials: any answer carrying Jenkins' X-Jenkins header, a 401 or 403 included, proves the controller is there.",
		contracts.CheckAuthentication: "Reads /me: 401 is a wrong user or token; answering as anonymous means no credentials were taken.",
		contracts.CheckFunctionality:  "Lists the top-level job names.",
	},
	ResourceTypes: []string{ResourceJobs, ResourcePipelines},
	Capabilities:  []connectors.Capability{connectors.CapCheck, connectors.CapDiscover, connectors.CapTrigger, connectors.CapFollowRuns},
	Example: connectors.Example{
		Config:        map[string]any{"url": "https://jenkins.example.com/", "folder": "team-a", "refParameter": "BRANCH"},
		CredentialRef: "vault://vault-1/jenkins/release-bot#credentials",
	},
}
