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
	"github.com/stella-ops/inthub/shared/credentials"
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
	hc, err := config.HealthFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "health-scheduler:", err)
		os.Exit(2)
	}
	local, err := config.LocalSecretsFromEnv("", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "health-scheduler:", err)
		os.Exit(2)
	}
	err = healthscheduler.Run(ctx, healthscheduler.Config{
		Bus: common.Bus, Logger: common.Logger, Metrics: common.Metrics, Registry: all.Registry(),
		Policy: hc.Policy, Workers: hc.Workers, FlapThreshold: hc.FlapThreshold,
		Resolver:  &credentials.Resolver{Local: local},
		Intervals: healthscheduler.Intervals{Connectivity: hc.Connectivity, Authentication: hc.Authentication, Functionality: hc.Functionality},
	})
	if err != nil {
		common.Logger.Error("health-scheduler stopped", "error", err.Error())
		os.Exit(1)
	}
}
