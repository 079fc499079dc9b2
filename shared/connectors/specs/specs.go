// Package specs lists the declarations of every provider the hub ships: the
// one list a new provider adds a line to. Each entry is a provider's spec
// sub-package, which imports nothing heavy, so the services that only
// validate configs and list providers (the manager; the ingress through it)
// link no SDK. The services that build connectors use connectors/all, which
// go generate derives from this file (see all/internal/genall). go generate
// here writes docs/providers/<id>.md and the README's provider index from
// the declarations (internal/gendocs).
package specs

//go:generate go run ./internal/gendocs

import (
	"github.com/stella-ops/inthub/shared/connectors"
	azuredevops "github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/spec"
	circleci "github.com/stella-ops/inthub/shared/connectors/cicd/circleci/spec"
	drone "github.com/stella-ops/inthub/shared/connectors/cicd/drone/spec"
	githubactions "github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/spec"
	jenkins "github.com/stella-ops/inthub/shared/connectors/cicd/jenkins/spec"
	teamcity "github.com/stella-ops/inthub/shared/connectors/cicd/teamcity/spec"
	datadog "github.com/stella-ops/inthub/shared/connectors/metrics/datadog/spec"
	dynatrace "github.com/stella-ops/inthub/shared/connectors/metrics/dynatrace/spec"
	newrelic "github.com/stella-ops/inthub/shared/connectors/metrics/newrelic/spec"
	prometheus "github.com/stella-ops/inthub/shared/connectors/metrics/prometheus/spec"
	email "github.com/stella-ops/inthub/shared/connectors/notify/email/spec"
	opsgenie "github.com/stella-ops/inthub/shared/connectors/notify/opsgenie/spec"
	pagerduty "github.com/stella-ops/inthub/shared/connectors/notify/pagerduty/spec"
	slack "github.com/stella-ops/inthub/shared/connectors/notify/slack/spec"
	teams "github.com/stella-ops/inthub/shared/connectors/notify/teams/spec"
	webhook "github.com/stella-ops/inthub/shared/connectors/notify/webhook/spec"
	s3compatible "github.com/stella-ops/inthub/shared/connectors/objectstorage/s3compatible/spec"
	acr "github.com/stella-ops/inthub/shared/connectors/registry/acr/spec"
	dockerhub "github.com/stella-ops/inthub/shared/connectors/registry/dockerhub/spec"
	dockerregistry "github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry/spec"
	ecr "github.com/stella-ops/inthub/shared/connectors/registry/ecr/spec"
	gcr "github.com/stella-ops/inthub/shared/connectors/registry/gcr/spec"
	ghcr "github.com/stella-ops/inthub/shared/connectors/registry/ghcr/spec"
	harbor "github.com/stella-ops/inthub/shared/connectors/registry/harbor/spec"
	inmemory "github.com/stella-ops/inthub/shared/connectors/registry/inmemory/spec"
	jfrog "github.com/stella-ops/inthub/shared/connectors/registry/jfrog/spec"
	nexus "github.com/stella-ops/inthub/shared/connectors/registry/nexus/spec"
	quay "github.com/stella-ops/inthub/shared/connectors/registry/quay/spec"
	gitea "github.com/stella-ops/inthub/shared/connectors/scm/gitea/spec"
	github "github.com/stella-ops/inthub/shared/connectors/scm/github/spec"
	gitlab "github.com/stella-ops/inthub/shared/connectors/scm/gitlab/spec"
	awssm "github.com/stella-ops/inthub/shared/connectors/secrets/awssm/spec"
	azurekv "github.com/stella-ops/inthub/shared/connectors/secrets/azurekv/spec"
	gcpsm "github.com/stella-ops/inthub/shared/connectors/secrets/gcpsm/spec"
	vault "github.com/stella-ops/inthub/shared/connectors/secrets/vault/spec"
)

// List returns the declaration of every shipped provider, without
// factories. Each import is named after its provider's folder: the
// generator of connectors/all imports the folder's package under that name
// and takes the variable of the same name from it.
func List() []*connectors.Spec {
	return []*connectors.Spec{
		inmemory.Spec,
		dockerregistry.Spec,
		datadog.Spec,
		dynatrace.Spec,
		newrelic.Spec,
		harbor.Spec,
		dockerhub.Spec,
		quay.Spec,
		ghcr.Spec,
		jfrog.Spec,
		nexus.Spec,
		ecr.Spec,
		gcr.Spec,
		acr.Spec,
		prometheus.Spec,
		webhook.Spec,
		teams.Spec,
		email.Spec,
		pagerduty.Spec,
		opsgenie.Spec,
		gitlab.Spec,
		gitlab.CISpec,
		github.Spec,
		gitea.Spec,
		githubactions.Spec,
		jenkins.Spec,
		teamcity.Spec,
		drone.Spec,
		azuredevops.Spec,
		circleci.Spec,
		slack.Spec,
		s3compatible.Spec,
		vault.Spec,
		awssm.Spec,
		azurekv.Spec,
		gcpsm.Spec,
	}
}

// Registry returns a registry of the declarations: it validates configs and
// lists providers, and builds no connector.
func Registry() *connectors.Registry { return connectors.NewRegistry(List()...) }
