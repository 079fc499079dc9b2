package cache

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// ConfigField is the common integration config field that overrides the TTL
// of every resource type of one integration, in seconds; 0 turns its
// discovery cache off. connectors.CommonFields declares it (0..86400).
const ConfigField = "discoveryCacheTTLSeconds"

// DefaultTTL is the TTL of a resource type the table does not name.
const DefaultTTL = 15 * time.Minute

// MaxTTL bounds every TTL, so that invalidation bookkeeping (generations,
// key indexes) can expire after 2*MaxTTL.
const MaxTTL = 24 * time.Hour

// TTLs maps resource types to how long their results are cached.
type TTLs map[string]time.Duration

// DefaultTTLs is the one table of TTLs: how long each resource type's
// discovery result stays fresh (tags change often, channels rarely).
var DefaultTTLs = TTLs{
	"repositories": time.Hour,
	"tags":         5 * time.Minute,
	"pipelines":    time.Hour,
	"channels":     24 * time.Hour,
	"projects":     time.Hour,
	"jobs":         time.Hour,
}

// For returns the TTL of a resource type for an integration's config: the
// integration's discoveryCacheTTLSeconds when set (0 = no caching), else t's
// entry (an operator's override), else DefaultTTLs', else DefaultTTL.
func (t TTLs) For(resourceType string, config map[string]any) time.Duration {
	switch v := config[ConfigField].(type) {
	case float64: // JSON numbers
		if v >= 0 && v == math.Trunc(v) {
			return min(time.Duration(v)*time.Second, MaxTTL)
		}
	case int:
		if v >= 0 {
			return min(time.Duration(v)*time.Second, MaxTTL)
		}
	}
	if d, ok := t[resourceType]; ok {
		return min(d, MaxTTL)
	}
	if d, ok := DefaultTTLs[resourceType]; ok {
		return d
	}
	return DefaultTTL
}

// ParseTTLs reads "tags=2m,repositories=30m" (an operator's overrides of
// the table); "" is no override.
func ParseTTLs(s string) (TTLs, error) {
	out := TTLs{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		d, err := time.ParseDuration(strings.TrimSpace(value))
		switch {
		case !ok || strings.TrimSpace(name) == "":
			return nil, fmt.Errorf("discovery cache TTL %q: want <resourceType>=<duration>, like tags=5m", part)
		case err != nil || d < 0 || d > MaxTTL:
			return nil, fmt.Errorf("discovery cache TTL %q: the duration must be between 0s and %s", part, MaxTTL)
		}
		out[strings.TrimSpace(name)] = d
	}
	return out, nil
}
