// Command pipeline-runner runs the pipeline-runner service on its own;
// pipelinerunner.ConfigFromEnv lists the variables it reads.
package main

import (
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[pipelinerunner.Config]{
		Name: "pipeline-runner", Load: pipelinerunner.ConfigFromEnv, Run: pipelinerunner.Run,
		With: func(cfg *pipelinerunner.Config, c *config.Common) {
			cfg.Registry, cfg.Logger, cfg.Metrics, cfg.Ready = all.Registry(), c.Logger, c.Metrics, c.Ready()
		},
	})
}
