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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	common, err := config.FromEnv("health-scheduler")
	if err != nil {
		fmt.Fprintln(os.Stderr, "health-scheduler:", err)
		os.Exit(2)
	}
	defer common.Close()
	if err := healthscheduler.Run(ctx, healthscheduler.Config{Bus: common.Bus, Logger: common.Logger, Metrics: common.Metrics}); err != nil {
		common.Logger.Error("health-scheduler stopped", "error", err.Error())
		os.Exit(1)
	}
}
