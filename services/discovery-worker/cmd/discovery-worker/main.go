// Command discovery-worker runs the discovery-worker service on its own.
//
// Besides the common variables it reads REDIS_URL (the discovery cache; the
// in-process cache when empty, for a single replica only),
// INTHUB_DISCOVERY_CACHE_TTLS (per resource type overrides, e.g.
// "tags=2m,repositories=30m"), INTHUB_DISCOVERY_WORKERS (discoveries at
// once, default 64) and the outbound address policy
// (INTHUB_ALLOW_PRIVATE_NETWORKS, INTHUB_ALLOWED_CIDRS).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors/all"
	"github.com/stella-ops/inthub/shared/credentials"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	common, err := config.FromEnv("discovery-worker")
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery-worker:", err)
		os.Exit(2)
	}
	defer common.Close()
	cfg, err := fromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "discovery-worker:", err)
		os.Exit(2)
	}
	cfg.Bus, cfg.Logger, cfg.Metrics = common.Bus, common.Logger, common.Metrics
	if err := discoveryworker.Run(ctx, cfg); err != nil {
		common.Logger.Error("discovery-worker stopped", "error", err.Error())
		os.Exit(1)
	}
}

// fromEnv reads the service's own settings.
func fromEnv() (discoveryworker.Config, error) {
	policy, err := config.PolicyFromEnv()
	if err != nil {
		return discoveryworker.Config{}, err
	}
	ttls, err := cache.ParseTTLs(os.Getenv("INTHUB_DISCOVERY_CACHE_TTLS"))
	if err != nil {
		return discoveryworker.Config{}, fmt.Errorf("INTHUB_DISCOVERY_CACHE_TTLS: %w", err)
	}
	workers := 0
	if v := os.Getenv("INTHUB_DISCOVERY_WORKERS"); v != "" {
		if workers, err = strconv.Atoi(v); err != nil || workers < 1 {
			return discoveryworker.Config{}, errors.New("INTHUB_DISCOVERY_WORKERS must be a whole number of at least 1")
		}
	}
	local, err := config.LocalSecretsFromEnv("", "")
	if err != nil {
		return discoveryworker.Config{}, err
	}
	return discoveryworker.Config{
		Registry: all.Registry(), Policy: policy, RedisURL: os.Getenv("REDIS_URL"), CacheTTLs: ttls, Workers: workers,
		Resolver: &credentials.Resolver{Local: local},
	}, nil
}
