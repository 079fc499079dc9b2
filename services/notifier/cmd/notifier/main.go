// Command notifier runs the notifier service on its own;
// notifier.ConfigFromEnv lists the variables it reads.
package main

import (
	notifier "github.com/stella-ops/inthub/services/notifier"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/startup"
)

func main() {
	startup.Main(startup.Process[notifier.Config]{
		Name: "notifier", Load: notifier.ConfigFromEnv, Run: notifier.Run,
		With: func(cfg *notifier.Config, c *config.Common) {
			cfg.Registry, cfg.Logger, cfg.Metrics, cfg.Ready = all.Registry(), c.Logger, c.Metrics, c.Ready()
		},
	})
}
