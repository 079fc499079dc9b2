// Command metrics-analyzer runs the metrics-analyzer service on its own;
// metricsanalyzer.ConfigFromEnv lists the variables it reads.
package main

import (
	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[metricsanalyzer.Config]{
		Name: "metrics-analyzer", Load: metricsanalyzer.ConfigFromEnv, Run: metricsanalyzer.Run,
		With: func(cfg *metricsanalyzer.Config, c *config.Common) {
			cfg.Registry, cfg.Logger, cfg.Metrics, cfg.Ready = all.Registry(), c.Logger, c.Metrics, c.Ready()
		},
	})
}
