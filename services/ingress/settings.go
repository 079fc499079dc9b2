package ingress

import (
	"fmt"

	"github.com/stella-ops/inthub/shared/config"
)

// DefaultBodyLimit is INTHUB_BODY_LIMIT's default: 1 MiB.
const DefaultBodyLimit = 1 << 20

// ConfigFromEnv reads every variable the ingress documents: the bus,
// INTHUB_ADDR, INTHUB_TOKENS, INTHUB_TOKENS_FILE and INTHUB_BODY_LIMIT.
// Logger and Metrics are the caller's. Tokens stay nil when neither token
// variable is set: Run refuses that, the devstack adds its dev token.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{
		Bus:       config.BusFromEnv(r, "ingress"),
		Addr:      r.String("INTHUB_ADDR", ":8080"),
		BodyLimit: int64(r.Int("INTHUB_BODY_LIMIT", DefaultBodyLimit, 1)),
	}
	file, spec := r.String("INTHUB_TOKENS_FILE", ""), r.String("INTHUB_TOKENS", "")
	if file != "" || spec != "" {
		tokens, err := LoadTokens(file, spec)
		if err != nil {
			r.Fail(fmt.Errorf("INTHUB_TOKENS / INTHUB_TOKENS_FILE: %w", err))
		}
		cfg.Tokens = tokens
	}
	return cfg, r.Err()
}
