// Package all lists every provider the hub ships with its implementation,
// for the services that build connectors. The list is generated from the
// declarations list (connectors/specs): add a provider there, then run
// go generate ./shared/connectors/all.
package all

//go:generate go run ./internal/genall

import "github.com/stella-ops/inthub/shared/connectors"

// Specs returns the specs of every shipped provider, with their factories.
func Specs() []*connectors.Spec { return implementations() }

// Registry returns a registry of every shipped provider.
func Registry() *connectors.Registry { return connectors.NewRegistry(Specs()...) }
