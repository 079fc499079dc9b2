package manager

import "github.com/stella-ops/inthub/shared/config"

// ConfigFromEnv reads every variable the manager documents: the bus
// settings, the bound on each store call and the operator's policy on local
// credential references, which the manager enforces when an integration is
// saved. Registry, Logger and
// Metrics are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{Bus: config.BusFromEnv(r, "manager"), LocalPolicy: config.LocalSecretsFromEnv(r).Policy,
		StoreTimeout: r.Duration("INTHUB_STORE_TIMEOUT", DefaultStoreTimeout)}
	return cfg, r.Err()
}
