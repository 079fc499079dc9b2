// Command manager runs the catalog service on its own;
// manager.ConfigFromEnv lists the variables it reads.
package main

import (
	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/specs"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[manager.Config]{
		Name: "manager", Load: manager.ConfigFromEnv, Run: manager.Run,
		With: func(cfg *manager.Config, c *config.Common) {
			cfg.Registry, cfg.Logger, cfg.Metrics, cfg.Ready = specs.Registry(), c.Logger, c.Metrics, c.Ready()
		},
	})
}
