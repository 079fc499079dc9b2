// Command discovery-worker runs the discovery-worker service on its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	common, err := config.FromEnv("discovery-worker")
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery-worker:", err)
		os.Exit(2)
	}
	defer common.Close()
	if err := discoveryworker.Run(ctx, discoveryworker.Config{Bus: common.Bus, Logger: common.Logger, Metrics: common.Metrics}); err != nil {
		common.Logger.Error("discovery-worker stopped", "error", err.Error())
		os.Exit(1)
	}
}
