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
	"github.com/stella-ops/inthub/shared/credentials"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	common, err := config.FromEnv("notifier")
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(2)
	}
	defer common.Close()
	policy, err := config.PolicyFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(2)
	}
	local, err := config.LocalSecretsFromEnv("", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(2)
	}
	err = notifier.Run(ctx, notifier.Config{
		Bus: common.Bus, Logger: common.Logger, Metrics: common.Metrics,
		Registry: all.Registry(), Policy: policy,
		Resolver: &credentials.Resolver{Local: local},
	})
	if err != nil {
		common.Logger.Error("notifier stopped", "error", err.Error())
		os.Exit(1)
	}
}
