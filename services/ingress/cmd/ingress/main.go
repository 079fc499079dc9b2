// Command ingress runs the HTTP API on its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/shared/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, common, err := config.Load("ingress", os.Getenv, ingress.ConfigFromEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(2)
	}
	defer common.Close()
	cfg.Logger, cfg.Metrics = common.Logger, common.Metrics
	if err := ingress.Run(ctx, cfg); err != nil {
		common.Logger.Error("ingress stopped", "error", err.Error())
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(1)
	}
}
