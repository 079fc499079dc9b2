// Command notifier runs the notifier service on its own.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	notifier "github.com/stella-ops/inthub/services/notifier"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, common, err := config.Load("notifier", os.Getenv, notifier.ConfigFromEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(2)
	}
	defer common.Close()
	cfg.Registry, cfg.Logger, cfg.Metrics = all.Registry(), common.Logger, common.Metrics
	if err := notifier.Run(ctx, cfg); err != nil {
		common.Logger.Error("notifier stopped", "error", err.Error())
		os.Exit(1)
	}
}
