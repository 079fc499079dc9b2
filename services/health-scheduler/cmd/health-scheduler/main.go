// Command health-scheduler runs the health-scheduler service on its own;
// healthscheduler.ConfigFromEnv lists the variables it reads.
package main

import (
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[healthscheduler.Config]{
		Name: "health-scheduler", Load: healthscheduler.ConfigFromEnv, Run: healthscheduler.Run,
		With: func(cfg *healthscheduler.Config, c *config.Common) {
			cfg.Registry, cfg.Logger, cfg.Metrics, cfg.Ready = all.Registry(), c.Logger, c.Metrics, c.Ready()
		},
	})
}
