// Package all lists every provider the hub ships: adding a provider is one
// line here (as Telegraf's plugins/inputs/all).
package all

import (
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/metrics/prometheus"
	"github.com/stella-ops/inthub/shared/connectors/notify/webhook"
	"github.com/stella-ops/inthub/shared/connectors/objectstorage/s3compatible"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
)

// Specs returns the specs of every shipped provider.
func Specs() []*connectors.Spec {
	return []*connectors.Spec{
		inmemory.Spec,
		dockerregistry.Spec,
		prometheus.Spec,
		webhook.Spec,
		s3compatible.Spec,
	}
}

// Registry returns a registry of every shipped provider.
func Registry() *connectors.Registry { return connectors.NewRegistry(Specs()...) }
