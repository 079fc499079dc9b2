package cache

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/config"
)

// Settings are where the discovery cache lives and its TTLs, as the
// discovery-worker (which fills it) and the ingress (which answers hits
// from it) both read them from the environment.
type Settings struct {
	// URL is REDIS_URL: a single Redis.
	URL string
	// Servers name a Sentinel-managed primary or a Redis Cluster instead.
	Servers RedisServers
	// TTLs are INTHUB_DISCOVERY_CACHE_TTLS, the operator's overrides of
	// DefaultTTLs.
	TTLs TTLs
}

// Shared reports whether the settings name a Redis (a cache every replica
// shares) rather than leaving each process its own in-process cache.
func (s Settings) Shared() bool { return s.URL != "" || s.Servers.Set() }

// SettingsFromEnv reads REDIS_URL or, instead, a Sentinel-managed primary
// (REDIS_SENTINEL_MASTER, REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_PASSWORD) or
// a Redis Cluster (REDIS_CLUSTER_ADDRS), both with REDIS_USERNAME and
// REDIS_PASSWORD for the data nodes, and INTHUB_DISCOVERY_CACHE_TTLS. Which
// of them is set, and whether Sentinel has both its master name and
// addresses, is checked when the cache opens (NewRedis): each variable
// alone is a valid reading.
func SettingsFromEnv(r *config.Reader) Settings {
	s := Settings{
		URL: r.String("REDIS_URL", ""),
		Servers: RedisServers{
			SentinelMaster:   r.String("REDIS_SENTINEL_MASTER", ""),
			SentinelAddrs:    addrs(r, "REDIS_SENTINEL_ADDRS"),
			SentinelPassword: r.String("REDIS_SENTINEL_PASSWORD", ""),
			ClusterAddrs:     addrs(r, "REDIS_CLUSTER_ADDRS"),
			Username:         r.String("REDIS_USERNAME", ""),
			Password:         r.String("REDIS_PASSWORD", ""),
		},
	}
	ttls, err := ParseTTLs(r.String("INTHUB_DISCOVERY_CACHE_TTLS", ""))
	if err != nil {
		r.Fail(fmt.Errorf("INTHUB_DISCOVERY_CACHE_TTLS: %w", err))
	}
	s.TTLs = ttls
	return s
}

// addrs reads a comma-separated list of host:port.
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
