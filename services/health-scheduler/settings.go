package healthscheduler

import (
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/credentials"
)

// ConfigFromEnv reads every variable the health-scheduler documents: the
// bus, INTHUB_CHECK_*_INTERVAL, INTHUB_CHECK_WORKERS, INTHUB_CHECK_MAX_QUEUED,
// INTHUB_FLAP_THRESHOLD, the outbound address policy and the local secret limits. Registry, Logger
// and Metrics are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	h := config.HealthFromEnv(r)
	cfg := Config{
		Bus:           config.BusFromEnv(r, "health-scheduler"),
		Policy:        config.PolicyFromEnv(r),
		Resolver:      &credentials.Resolver{Local: config.LocalSecretsFromEnv(r)},
		Intervals:     Intervals{Connectivity: h.Connectivity, Authentication: h.Authentication, Functionality: h.Functionality},
		Workers:       h.Workers,
		FlapThreshold: h.FlapThreshold,
		MaxQueued:     h.MaxQueued,
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = -1 // the variable's 0 is "never skip"; Config's 0 is the default
	}
	return cfg, r.Err()
}
