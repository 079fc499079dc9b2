package notifier

import (
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/credentials"
)

// ConfigFromEnv reads every variable the notifier documents: the bus, the
// outbound address policy and the local secret limits. Registry, Logger and
// Metrics are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{
		Bus:      config.BusFromEnv(r, "notifier"),
		Policy:   config.PolicyFromEnv(r),
		Resolver: &credentials.Resolver{Local: config.LocalSecretsFromEnv(r)},
	}
	return cfg, r.Err()
}
