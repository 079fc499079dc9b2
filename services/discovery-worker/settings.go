package discoveryworker

import (
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
	}
	c := cache.SettingsFromEnv(r)
	cfg.RedisURL, cfg.Redis, cfg.CacheTTLs = c.URL, c.Servers, c.TTLs
	cfg.Workers = r.Int("INTHUB_DISCOVERY_WORKERS", 0, 1) // 0: the service's default, 64
	return cfg, r.Err()
}
