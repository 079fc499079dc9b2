// Command health-scheduler runs the health-scheduler service on its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, common, err := config.Load("health-scheduler", os.Getenv, healthscheduler.ConfigFromEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "health-scheduler:", err)
		os.Exit(2)
	}
	defer common.Close()
	cfg.Registry, cfg.Logger, cfg.Metrics = all.Registry(), common.Logger, common.Metrics
	if err := healthscheduler.Run(ctx, cfg); err != nil {
		common.Logger.Error("health-scheduler stopped", "error", err.Error())
		os.Exit(1)
	}
}
