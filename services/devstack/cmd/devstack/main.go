// Command devstack runs the whole hub in one process: `make run`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/telemetry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first Ctrl-C the hub shuts down gracefully; a second
		// one ends the process at once (the default action).
		<-ctx.Done()
		stop()
	}()
	os.Exit(exitCode(ctx, run(ctx, os.Getenv, os.Stdout), os.Stdout, os.Stderr))
}

// exitCode is the process's status for run's result: Ctrl-C (or SIGTERM)
// is how a developer stops `make run`, so a stop by signal is a success
// (0), and make does not report "Error 1" for it.
func exitCode(ctx context.Context, err error, out, errOut io.Writer) int {
	stopped := ctx.Err() != nil
	if err != nil && !(stopped && errors.Is(err, context.Canceled)) {
		// A taken port already says how to choose another (INTHUB_ADDR).
		fmt.Fprintln(errOut, "inthub:", err)
		return 1
	}
	if stopped {
		fmt.Fprintln(out, "Integration Hub stopped; the store is kept for the next make run.")
	}
	return 0
}

// run is `make run` with its environment and output passed in, so a test
// can run it without touching the process environment.
func run(ctx context.Context, getenv config.Getenv, out io.Writer) error {
	s, err := devstack.SettingsFromEnv(getenv)
	if err != nil {
		return err
	}
	for _, dir := range []string{s.Config.DataDir, filepath.Dir(s.LogFile)} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	logOut, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logOut.Close()
	stopTracing, err := s.Process.StartTracing("inthub-devstack")
	if err != nil {
		return err
	}
	defer stopTracing()
	ready := make(chan devstack.Info, 1)
	go func() {
		info, ok := <-ready
		if !ok {
			return
		}
		metrics := "metrics off"
		if info.MetricsAddr != "" {
			metrics = "metrics http://" + info.MetricsAddr + "/metrics"
		}
		fmt.Fprintf(out, "Integration Hub listening on http://%s  (%s, NATS %s, tenant %s, token %s; logs in %s; Ctrl-C stops)\n",
			localhost(info.HTTPAddr), metrics, info.NATSURL, info.TenantID, info.Token, s.LogFile)
		fmt.Fprintf(out, "Console: http://%s/console (sign in with the token above)\n", localhost(info.HTTPAddr))
	}()
	cfg := s.Config
	cfg.Logger = telemetry.NewLogger(logOut, s.Process.LogLevel, "devstack")
	cfg.Ready = ready
	return devstack.Run(ctx, cfg)
}

// localhost names a wildcard listener by a host a browser can open.
func localhost(addr string) string {
	if strings.HasPrefix(addr, "[::]:") || strings.HasPrefix(addr, "0.0.0.0:") {
		return "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}
