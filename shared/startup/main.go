package startup

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stella-ops/inthub/shared/config"
)

// Exit codes of a service process.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the service stopped with an error
	ExitSettings = 2 // a setting is missing or wrong: nothing started
)

// Process is a standalone service's process: how it reads its settings
// (its ConfigFromEnv), what it adds from the process (registry, logger,
// metrics: With), and its Run.
type Process[C any] struct {
	Name string
	Load func(config.Getenv) (C, error)
	// With sets on the loaded settings what comes from the process: the
	// logger and metrics registry of common, the provider registry.
	With func(cfg *C, common *config.Common)
	Run  func(context.Context, C) error
}

// Main runs p until SIGINT or SIGTERM and exits with its code.
func Main[C any](p Process[C]) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := p.run(ctx, os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run reads the settings, naming every bad one at once (ExitSettings),
// starts logging, tracing and the metrics listener, and runs the service
// until ctx ends (ExitOK) or it fails (ExitFailed, logged and on stderr).
func (p Process[C]) run(ctx context.Context, getenv config.Getenv, stderr io.Writer) int {
	cfg, common, err := config.Load(p.Name, getenv, p.Load)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitSettings
	}
	defer common.Close()
	if p.With != nil {
		p.With(&cfg, common)
	}
	if err := p.Run(ctx, cfg); err != nil {
		common.Logger.Error(p.Name+" stopped", "error", err.Error())
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitFailed
	}
	return ExitOK
}
