// Package healthscheduler is the health-scheduler service (health checks and on-demand tests).
package healthscheduler

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
)

// Config configures the service.
type Config struct {
	Bus     bus.Config
	Logger  *slog.Logger
	Metrics prometheus.Registerer
	// Ready, if set, is closed once the service consumes.
	Ready chan<- struct{}
}

// Run connects to the bus (creating the streams if needed) and serves until
// ctx ends. Its handlers arrive with the issue that fills this service in.
func Run(ctx context.Context, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	b, err := bus.Open(ctx, cfg.Bus, logger)
	if err != nil {
		return err
	}
	defer b.Close()
	logger.Info("health-scheduler ready")
	if cfg.Ready != nil {
		close(cfg.Ready)
	}
	<-ctx.Done()
	return nil
}
