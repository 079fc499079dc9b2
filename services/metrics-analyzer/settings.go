package metricsanalyzer

import (
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/credentials"
)

// ConfigFromEnv reads every variable the metrics-analyzer documents: the
// bus, INTHUB_METRICS_WORKERS (queries at once, default 16), the outbound
// address policy and the local secret limits. Registry, Logger and Metrics
// are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{
		Bus:      config.BusFromEnv(r, "metrics-analyzer"),
		Policy:   config.PolicyFromEnv(r),
		Resolver: &credentials.Resolver{Local: config.LocalSecretsFromEnv(r)},
		Workers:  r.Int("INTHUB_METRICS_WORKERS", 0, 1), // 0: the service's default, 16
	}
	return cfg, r.Err()
}
