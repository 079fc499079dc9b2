// Package all lists every provider the hub ships: adding a provider is one
// line here (as Telegraf's plugins/inputs/all).
package all

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/githubactions"
	"github.com/stella-ops/inthub/shared/connectors/cicd/jenkins"
	"github.com/stella-ops/inthub/shared/connectors/metrics/prometheus"
	"github.com/stella-ops/inthub/shared/connectors/notify/email"
	"github.com/stella-ops/inthub/shared/connectors/notify/opsgenie"
	"github.com/stella-ops/inthub/shared/connectors/notify/pagerduty"
	"github.com/stella-ops/inthub/shared/connectors/notify/slack"
	"github.com/stella-ops/inthub/shared/connectors/notify/teams"
	"github.com/stella-ops/inthub/shared/connectors/notify/webhook"
	"github.com/stella-ops/inthub/shared/connectors/objectstorage/s3compatible"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab"
	"github.com/stella-ops/inthub/shared/connectors/secrets/awssm"
	"github.com/stella-ops/inthub/shared/connectors/secrets/azurekv"
	"github.com/stella-ops/inthub/shared/connectors/secrets/gcpsm"
	"github.com/stella-ops/inthub/shared/connectors/secrets/vault"
)

// Specs returns the specs of every shipped provider.
func Specs() []*connectors.Spec {
	return []*connectors.Spec{
		inmemory.Spec,
		dockerregistry.Spec,
		prometheus.Spec,
		webhook.Spec,
		teams.Spec,
		email.Spec,
		pagerduty.Spec,
		opsgenie.Spec,
		gitlab.Spec,
		gitlab.CISpec,
		githubactions.Spec,
		jenkins.Spec,
		slack.Spec,
		s3compatible.Spec,
		vault.Spec,
		awssm.Spec,
		azurekv.Spec,
		gcpsm.Spec,
	}
}

// Registry returns a registry of every shipped provider.
func Registry() *connectors.Registry { return connectors.NewRegistry(Specs()...) }
