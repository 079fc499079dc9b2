package credentials

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// Defaults of the bases a LocalPolicy builds each tenant's names and folder
// from (INTHUB_LOCAL_SECRET_ENV_PREFIX and INTHUB_LOCAL_SECRET_DIR).
const (
	DefaultLocalEnvPrefix = "INTHUB_SECRET_"
	DefaultLocalDir       = "/run/secrets/inthub"
)

// What part of the operator's local-secret settings ParseLocalPolicy refused:
// its errors wrap one of these, so that a caller can name its own setting.
var (
	ErrLocalEnvBase = errors.New("bad local secret env prefix")
	ErrLocalDirBase = errors.New("bad local secret folder")
	ErrLocalTenants = errors.New("bad local secret tenants")
)

// maxLocalName bounds a tenant's NAME in the operator's list.
const maxLocalName = 32

// ErrLocalRefNotAllowed is LocalPolicy.Check's refusal. It names neither the
// prefix nor the folder: a tenant probing references must not learn how the
// operator laid out other tenants' secrets.
var ErrLocalRefNotAllowed = errors.New("env:// and file:// references of this tenant must use the names and folder the operator assigned to it; ask your operator")

// LocalPolicy says which env:// and file:// references each tenant may use.
// env:// and file:// read the hub's own environment and files, which hold
// every tenant's local secrets (and the hub's own settings): without an owner
// per name, one tenant could point a reference at another's secret and have
// it sent to an endpoint it controls.
//
// The operator gives a tenant a NAME; that tenant may then use the variables
// <env base><NAME>_* and the files under <dir base>/<lowercase NAME>/, and
// nothing else. A tenant without a NAME may use no local reference. The zero
// LocalPolicy grants nobody anything.
//
// The manager checks a reference against it when an integration is saved and
// every resolver again when it is used, with Check in both places so that
// the two cannot disagree.
type LocalPolicy struct {
	grants map[string]localGrant // by tenant id
	// envBase and dirBase are what the grants were built from.
	envBase, dirBase string
}

// localGrant is what one tenant may read.
type localGrant struct {
	envPrefix string // INTHUB_SECRET_<NAME>_
	dir       string // absolute, cleaned, no trailing slash
}

// ParseLocalPolicy reads the operator's list of tenants (INTHUB_LOCAL_SECRET_TENANTS):
// comma-separated <tenantId>=<NAME> entries, tenant ids UUIDs, each tenant
// at most once, NAMEs of 1 to 32 capital letters and digits (no underscore,
// so that no tenant's prefix is the start of another's), each NAME once.
// envBase (empty: DefaultLocalEnvPrefix) and dirBase (empty: DefaultLocalDir,
// made absolute) are what the names and folders are built from.
func ParseLocalPolicy(tenants, envBase, dirBase string) (LocalPolicy, error) {
	if envBase == "" {
		envBase = DefaultLocalEnvPrefix
	}
	if !validToken(envBase, "_") || envBase[0] >= '0' && envBase[0] <= '9' {
		return LocalPolicy{}, fmt.Errorf("%w %q: use letters, digits and _ (not starting with a digit)", ErrLocalEnvBase, truncate(envBase, 64))
	}
	if dirBase == "" {
		dirBase = DefaultLocalDir
	}
	dir, err := filepath.Abs(dirBase)
	if err != nil {
		return LocalPolicy{}, fmt.Errorf("%w %q: %w", ErrLocalDirBase, truncate(dirBase, 256), err)
	}
	p := LocalPolicy{grants: map[string]localGrant{}, envBase: envBase, dirBase: dir}
	if strings.TrimSpace(tenants) == "" {
		return p, nil
	}
	names := map[string]string{} // NAME -> tenant
	for i, entry := range strings.Split(tenants, ",") {
		entry = strings.TrimSpace(entry)
		bad := func(why string) error {
			return fmt.Errorf("%w: entry %d %q: %s", ErrLocalTenants, i+1, truncate(entry, 80), why)
		}
		tenant, name, ok := strings.Cut(entry, "=")
		tenant, name = strings.TrimSpace(tenant), strings.TrimSpace(name)
		switch {
		case !ok:
			return LocalPolicy{}, bad("want <tenantId>=<NAME>")
		case len(tenant) != 36 || uuid.Validate(tenant) != nil:
			return LocalPolicy{}, bad("the tenant id is not a UUID")
		case !validLocalName(name):
			return LocalPolicy{}, bad(fmt.Sprintf("NAME must be 1 to %d capital letters and digits", maxLocalName))
		}
		if _, dup := p.grants[tenant]; dup {
			return LocalPolicy{}, bad("the tenant is listed twice")
		}
		if other, dup := names[name]; dup {
			return LocalPolicy{}, bad("NAME is already given to tenant " + other)
		}
		names[name] = tenant
		p.grants[tenant] = localGrant{
			envPrefix: envBase + name + "_",
			dir:       filepath.Join(dir, strings.ToLower(name)),
		}
	}
	return p, nil
}

func validLocalName(s string) bool {
	if s == "" || len(s) > maxLocalName {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Check says whether tenantID may use ref: an env:// name must start with
// the tenant's prefix (and go on after it), a file:// path must be inside
// the tenant's folder; anything else is ErrLocalRefNotAllowed. References
// into secret stores are not local: Check accepts them (their store is
// checked elsewhere).
func (p LocalPolicy) Check(tenantID string, ref Ref) error {
	if ref.Scheme != SchemeEnv && ref.Scheme != SchemeFile {
		return nil
	}
	g, ok := p.grants[tenantID]
	if !ok {
		return ErrLocalRefNotAllowed
	}
	switch ref.Scheme {
	case SchemeEnv:
		if len(ref.Path) > len(g.envPrefix) && strings.HasPrefix(ref.Path, g.envPrefix) {
			return nil
		}
	case SchemeFile:
		// ParseRef already refuses . and .. segments; Clean is the second lock.
		if strings.HasPrefix(filepath.Clean(ref.Path), g.dir+"/") {
			return nil
		}
	}
	return ErrLocalRefNotAllowed
}

// Grant returns what tenantID may read: the env:// name prefix and the
// file:// folder; ok is false for a tenant without a grant. It is for the
// operator's own tools and tests: answers to tenants never show it.
func (p LocalPolicy) Grant(tenantID string) (envPrefix, dir string, ok bool) {
	g, ok := p.grants[tenantID]
	return g.envPrefix, g.dir, ok
}

// Bases returns the env:// prefix and the folder every grant is built from
// (INTHUB_LOCAL_SECRET_ENV_PREFIX and INTHUB_LOCAL_SECRET_DIR, made absolute).
func (p LocalPolicy) Bases() (envBase, dirBase string) { return p.envBase, p.dirBase }

// checkRealPath refuses a file whose real location, after following
// symbolic links, is outside the tenant's real folder: a link placed in one
// tenant's folder must not lead to another's files or the hub's own. A path
// that does not exist passes here; reading it fails anyway.
func (p LocalPolicy) checkRealPath(tenantID, path string) error {
	g, ok := p.grants[tenantID]
	if !ok {
		return ErrLocalRefNotAllowed
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil
	}
	dir, err := filepath.EvalSymlinks(g.dir)
	if err != nil {
		return ErrLocalRefNotAllowed
	}
	if !strings.HasPrefix(real, dir+"/") {
		return ErrLocalRefNotAllowed
	}
	return nil
}
