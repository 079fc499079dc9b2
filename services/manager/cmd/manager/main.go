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
	"github.com/stella-ops/inthub/shared/connectors/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	common, err := config.FromEnv("manager")
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(2)
	}
	defer common.Close()
	local, err := config.LocalSecretsFromEnv("", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(2)
	}
	err = manager.Run(ctx, manager.Config{
		Bus: common.Bus, Registry: all.Registry(), Logger: common.Logger, Metrics: common.Metrics,
		LocalPolicy: local.Policy,
	})
	if err != nil {
		common.Logger.Error("manager stopped", "error", err.Error())
		os.Exit(1)
	}
}
