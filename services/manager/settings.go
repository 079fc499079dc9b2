package manager

import "github.com/stella-ops/inthub/shared/config"

// ConfigFromEnv reads every variable the manager documents: the bus
// settings. Registry, Logger and Metrics are the caller's.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{Bus: config.BusFromEnv(r, "manager")}
	return cfg, r.Err()
}
