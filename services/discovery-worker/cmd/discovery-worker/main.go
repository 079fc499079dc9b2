// Command discovery-worker runs the discovery-worker service on its own;
// discoveryworker.ConfigFromEnv lists the variables it reads.
package main

import (
	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[discoveryworker.Config]{
		Name: "discovery-worker", Load: discoveryworker.ConfigFromEnv, Run: discoveryworker.Run,
		With: func(cfg *discoveryworker.Config, c *config.Common) {
			cfg.Registry, cfg.Logger, cfg.Metrics, cfg.Ready = all.Registry(), c.Logger, c.Metrics, c.Ready()
		},
	})
}
