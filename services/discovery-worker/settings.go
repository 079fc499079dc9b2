package discoveryworker

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/credentials"
)

// ConfigFromEnv reads every variable the discovery-worker documents: the
// bus, REDIS_URL (the discovery cache; the in-process cache when empty, for
// a single replica only) or, instead of REDIS_URL, a Sentinel-managed primary
// (REDIS_SENTINEL_MASTER, REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_PASSWORD) or a
// Redis Cluster (REDIS_CLUSTER_ADDRS), both with REDIS_USERNAME and
// REDIS_PASSWORD for the data nodes, INTHUB_DISCOVERY_CACHE_TTLS (per resource type
// overrides, e.g. "tags=2m,repositories=30m"), INTHUB_DISCOVERY_WORKERS
// (discoveries at once, default 64), the outbound address policy and the
// local secret limits. Registry, Logger and Metrics are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{
		Bus:      config.BusFromEnv(r, "discovery-worker"),
		Policy:   config.PolicyFromEnv(r),
		Resolver: &credentials.Resolver{Local: config.LocalSecretsFromEnv(r)},
		RedisURL: r.String("REDIS_URL", ""),
		Redis: cache.RedisServers{
			SentinelMaster:   r.String("REDIS_SENTINEL_MASTER", ""),
			SentinelAddrs:    addrs(r, "REDIS_SENTINEL_ADDRS"),
			SentinelPassword: r.String("REDIS_SENTINEL_PASSWORD", ""),
			ClusterAddrs:     addrs(r, "REDIS_CLUSTER_ADDRS"),
			Username:         r.String("REDIS_USERNAME", ""),
			Password:         r.String("REDIS_PASSWORD", ""),
		},
		Workers: r.Int("INTHUB_DISCOVERY_WORKERS", 0, 1), // 0: the service's default, 64
	}
	ttls, err := cache.ParseTTLs(r.String("INTHUB_DISCOVERY_CACHE_TTLS", ""))
	if err != nil {
		r.Fail(fmt.Errorf("INTHUB_DISCOVERY_CACHE_TTLS: %w", err))
	}
	cfg.CacheTTLs = ttls
	return cfg, r.Err()
}

// addrs reads a comma-separated list of host:port. Which of REDIS_URL,
// Sentinel and Cluster is set, and whether Sentinel has both its master
// name and addresses, is checked when the cache opens (cache.NewRedis):
// each variable alone is a valid reading.
func addrs(r *config.Reader, name string) []string {
	v := r.String(name, "")
	if v == "" {
		return nil
	}
	var out []string
	for a := range strings.SplitSeq(v, ",") {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			r.Fail(fmt.Errorf("%s: %q is not host:port", name, a))
			continue
		}
		out = append(out, a)
	}
	return out
}
