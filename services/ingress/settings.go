package ingress

import (
	"fmt"
	"os"
	"strings"

	"github.com/stella-ops/inthub/shared/cache"
	"github.com/stella-ops/inthub/shared/config"
)

// DefaultBodyLimit is INTHUB_BODY_LIMIT's default: 1 MiB.
const DefaultBodyLimit = 1 << 20

// ConfigFromEnv reads every variable the ingress documents: the bus,
// INTHUB_ADDR, INTHUB_TOKENS, INTHUB_TOKENS_FILE,
// INTHUB_TOKENS_RELOAD_INTERVAL, INTHUB_BODY_LIMIT, INTHUB_ACCESS_LOG_RATE, the INTHUB_OIDC_*
// variables, the outbound guard the OIDC issuer is fetched through, and the
// discovery-worker's cache settings (REDIS_*, INTHUB_DISCOVERY_CACHE_TTLS).
// Logger and Metrics are the caller's. Tokens stay nil when neither token
// variable is set: Run refuses that unless an OIDC issuer is configured,
// the devstack adds its dev token.
func ConfigFromEnv(getenv config.Getenv) (Config, error) {
	r := config.NewReader(getenv)
	cfg := Config{
		Bus:           config.BusFromEnv(r, "ingress"),
		Addr:          r.String("INTHUB_ADDR", ":8080"),
		BodyLimit:     int64(r.Int("INTHUB_BODY_LIMIT", DefaultBodyLimit, 1)),
		TokensReload:  r.Duration("INTHUB_TOKENS_RELOAD_INTERVAL", DefaultTokensReload),
		OIDC:          oidcFromEnv(r),
		AccessLogRate: float64(r.Int("INTHUB_ACCESS_LOG_RATE", DefaultAccessLogRate, -1)),
		// The discovery-worker's cache: a shared one (Redis) lets the
		// ingress answer hits itself.
		DiscoveryCacheSettings: cache.SettingsFromEnv(r),
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

// oidcFromEnv reads INTHUB_OIDC_*. Each variable is read whether or not an
// issuer is set; the issuer's URL and the tenants are checked here, and
// Run refuses an issuer without an audience.
func oidcFromEnv(r *config.Reader) OIDCConfig {
	c := OIDCConfig{
		Issuer:        r.String("INTHUB_OIDC_ISSUER", ""),
		Audience:      r.String("INTHUB_OIDC_AUDIENCE", ""),
		TenantClaim:   r.String("INTHUB_OIDC_TENANT_CLAIM", DefaultTenantClaim),
		RolesClaim:    r.String("INTHUB_OIDC_ROLES_CLAIM", DefaultRolesClaim),
		OperatorRoles: list(r.String("INTHUB_OIDC_OPERATOR_ROLES", DefaultOperatorRole)),
		TenantRoles:   list(r.String("INTHUB_OIDC_TENANT_ROLES", "")),
		Tenants:       list(r.String("INTHUB_OIDC_TENANTS", "")),
		Policy:        config.PolicyFromEnv(r),
	}
	// A missing audience is Run's to refuse, so that each variable set on
	// its own still loads.
	r.Fail(c.checkIssuer())
	r.Fail(c.checkTenants())
	if file := r.String("INTHUB_OIDC_CA_FILE", ""); file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			r.Fail(fmt.Errorf("INTHUB_OIDC_CA_FILE: %w", err))
		}
		c.CACertPEM = pem
	}
	return c
}

// list splits a comma-separated setting, dropping empty items.
func list(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
