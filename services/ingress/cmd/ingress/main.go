// Command ingress runs the HTTP API on its own; ingress.ConfigFromEnv lists
// the variables it reads.
package main

import (
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[ingress.Config]{
		Name: "ingress", Load: ingress.ConfigFromEnv, Run: ingress.Run,
		With: func(cfg *ingress.Config, c *config.Common) { cfg.Logger, cfg.Metrics = c.Logger, c.Metrics },
	})
}
