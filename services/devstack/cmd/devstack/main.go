// Command devstack runs the whole hub in one process: `make run`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/stella-ops/inthub/services/devstack"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logFile := config.Env("INTHUB_LOG_FILE", ".data/devstack.log")
	if err := os.MkdirAll(config.Env("INTHUB_DATA_DIR", ".data"), 0o700); err != nil {
		fail(err)
	}
	logOut, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fail(err)
	}
	defer logOut.Close()
	shutdown, err := telemetry.SetupTracing("inthub-devstack", nil)
	if err != nil {
		fail(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	natsPort, err := strconv.Atoi(config.Env("INTHUB_NATS_PORT", "0"))
	if err != nil {
		fail(errors.New("INTHUB_NATS_PORT must be a port number (0 picks a free one)"))
	}
	busCfg, err := config.BusFromEnv("devstack")
	if err != nil {
		fail(err)
	}
	health, err := config.HealthFromEnv()
	if err != nil {
		fail(err)
	}
	local, err := config.LocalSecretsFromEnv(filepath.Join(config.Env("INTHUB_DATA_DIR", ".data"), "secrets"), devstack.DevLocalSecrets)
	if err != nil {
		fail(err)
	}
	ready := make(chan devstack.Info, 1)
	go func() {
		info, ok := <-ready
		if !ok {
			return
		}
		host := info.HTTPAddr
		if strings.HasPrefix(host, "[::]:") || strings.HasPrefix(host, "0.0.0.0:") {
			host = "localhost" + host[strings.LastIndex(host, ":"):]
		}
		fmt.Printf("Integration Hub listening on http://%s  (NATS %s, tenant %s, token %s; logs in %s; Ctrl-C stops)\n",
			host, info.NATSURL, info.TenantID, info.Token, logFile)
	}()
	err = devstack.Run(ctx, devstack.Config{
		DataDir:  config.Env("INTHUB_DATA_DIR", ".data"),
		Addr:     config.Env("INTHUB_ADDR", ":8080"),
		NATSURL:  os.Getenv("NATS_URL"),
		NATSPort: natsPort,
		RedisURL: os.Getenv("REDIS_URL"),
		Logger:   telemetry.NewLogger(logOut, config.Env("LOG_LEVEL", "info"), "devstack"),
		Bus:      busCfg,
		Policy:   health.Policy,
		Local:    local,
		Intervals: healthscheduler.Intervals{
			Connectivity: health.Connectivity, Authentication: health.Authentication, Functionality: health.Functionality,
		},
		Ready: ready,
	})
	if err != nil {
		// A taken port already says how to choose another (INTHUB_ADDR).
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "inthub:", err)
	os.Exit(1)
}
