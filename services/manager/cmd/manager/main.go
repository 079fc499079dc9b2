// Command manager runs the catalog service on its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stella-ops/inthub/services/manager"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/specs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, common, err := config.Load("manager", os.Getenv, manager.ConfigFromEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(2)
	}
	defer common.Close()
	cfg.Registry, cfg.Logger, cfg.Metrics = specs.Registry(), common.Logger, common.Metrics
	if err := manager.Run(ctx, cfg); err != nil {
		common.Logger.Error("manager stopped", "error", err.Error())
		os.Exit(1)
	}
}
