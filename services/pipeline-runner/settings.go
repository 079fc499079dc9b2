package pipelinerunner

import (
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/credentials"
)

// ConfigFromEnv reads every variable the pipeline-runner documents: the
// bus, INTHUB_PIPELINE_POLL_INTERVAL (first wait between two reads of a
// run, 5s), INTHUB_PIPELINE_MAX_POLL_INTERVAL (60s),
// INTHUB_PIPELINE_LEASE_TTL (30s), INTHUB_PIPELINE_WORKERS (16), the
// outbound address policy and the local secret limits. Registry, Logger and
// Metrics are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{
		Bus:             config.BusFromEnv(r, "pipeline-runner"),
		Policy:          config.PolicyFromEnv(r),
		Resolver:        &credentials.Resolver{Local: config.LocalSecretsFromEnv(r)},
		PollInterval:    r.Duration("INTHUB_PIPELINE_POLL_INTERVAL", 0),
		MaxPollInterval: r.Duration("INTHUB_PIPELINE_MAX_POLL_INTERVAL", 0),
		LeaseTTL:        r.Duration("INTHUB_PIPELINE_LEASE_TTL", 0),
		Workers:         r.Int("INTHUB_PIPELINE_WORKERS", 0, 1),
	}
	return cfg, r.Err()
}
