package devstack

import (
	"errors"
	"fmt"
	"path/filepath"

	discoveryworker "github.com/stella-ops/inthub/services/discovery-worker"
	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/services/ingress"
	"github.com/stella-ops/inthub/services/manager"
	metricsanalyzer "github.com/stella-ops/inthub/services/metrics-analyzer"
	"github.com/stella-ops/inthub/services/notifier"
	pipelinerunner "github.com/stella-ops/inthub/services/pipeline-runner"
	"github.com/stella-ops/inthub/shared/config"
)

// DefaultMetricsAddr is where `make run` serves /metrics unless METRICS_ADDR
// says otherwise: loopback only, since metrics name every tenant's
// integrations.
const DefaultMetricsAddr = "127.0.0.1:9464"

// Settings is everything `make run` reads from the environment.
type Settings struct {
	// Config is the stack's, with every service's settings in Services.
	Config Config
	// Process is the log level, traces file and metrics listener.
	Process config.Process
	// LogFile receives the logs (INTHUB_LOG_FILE, default <data dir>/devstack.log).
	LogFile string
}

// SettingsFromEnv reads the devstack's own variables (INTHUB_DATA_DIR,
// INTHUB_NATS_PORT, INTHUB_LOG_FILE, NATS_URL) and loads every service's
// settings with that service's own ConfigFromEnv, so a variable a service
// reads on its own is honoured by `make run` too. Only defaults differ: the
// metrics listener is on (DefaultMetricsAddr), local secret files live in
// <data dir>/secrets, and the dev tenant is granted local references
// (DevLocalSecrets) unless INTHUB_LOCAL_SECRET_TENANTS says otherwise.
func SettingsFromEnv(getenv config.Getenv) (Settings, error) {
	r := config.NewReader(getenv)
	dataDir := r.String("INTHUB_DATA_DIR", ".data")
	s := Settings{
		Config: Config{
			DataDir:  dataDir,
			NATSURL:  r.String("NATS_URL", ""),
			NATSPort: r.Int("INTHUB_NATS_PORT", 0, 0),
		},
		LogFile: r.String("INTHUB_LOG_FILE", filepath.Join(dataDir, "devstack.log")),
	}
	if s.Config.NATSPort > 65535 {
		r.Fail(fmt.Errorf("INTHUB_NATS_PORT=%d: want a port number (0 picks a free one)", s.Config.NATSPort))
	}
	getenv = config.WithDefaults(r.Getenv(), map[string]string{
		"METRICS_ADDR":            DefaultMetricsAddr,
		"INTHUB_LOCAL_SECRET_DIR": filepath.Join(dataDir, "secrets"),
		// The dev tenant's own local secrets: INTHUB_SECRET_DEV_* and
		// <data dir>/secrets/dev/.
		"INTHUB_LOCAL_SECRET_TENANTS": DevLocalSecrets,
	})
	var errs []error
	load := func(err error) { errs = append(errs, err) }
	var err error
	s.Process, err = config.ProcessFromEnv(getenv)
	load(err)
	s.Config.MetricsAddr = s.Process.MetricsAddr
	sv := &s.Config.Services
	sv.Ingress, err = ingress.ConfigFromEnv(getenv)
	load(err)
	sv.Manager, err = manager.ConfigFromEnv(getenv)
	load(err)
	sv.HealthScheduler, err = healthscheduler.ConfigFromEnv(getenv)
	load(err)
	sv.DiscoveryWorker, err = discoveryworker.ConfigFromEnv(getenv)
	load(err)
	sv.Notifier, err = notifier.ConfigFromEnv(getenv)
	load(err)
	sv.MetricsAnalyzer, err = metricsanalyzer.ConfigFromEnv(getenv)
	load(err)
	sv.PipelineRunner, err = pipelinerunner.ConfigFromEnv(getenv)
	load(err)
	return s, distinct(append([]error{r.Err()}, errs...))
}

// distinct joins errs, each message once: the services share the bus and
// policy variables, so one bad value would otherwise be named five times.
func distinct(errs []error) error {
	seen := map[string]bool{}
	var out []error
	var walk func(err error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if !seen[err.Error()] {
			seen[err.Error()] = true
			out = append(out, err)
		}
	}
	for _, err := range errs {
		walk(err)
	}
	return errors.Join(out...)
}
