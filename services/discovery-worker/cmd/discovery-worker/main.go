// Command discovery-worker runs the discovery-worker service on its own;
// discoveryworker.ConfigFromEnv lists the variables it reads.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, common, err := config.Load("discovery-worker", os.Getenv, discoveryworker.ConfigFromEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery-worker:", err)
		os.Exit(2)
	}
	defer common.Close()
	cfg.Registry, cfg.Logger, cfg.Metrics = all.Registry(), common.Logger, common.Metrics
	if err := discoveryworker.Run(ctx, cfg); err != nil {
		common.Logger.Error("discovery-worker stopped", "error", err.Error())
		os.Exit(1)
	}
}
