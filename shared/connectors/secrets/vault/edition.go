package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/stella-ops/inthub/shared/resilience"
)

// ErrNamespaceUnsupported: a namespace is configured but the server is not
// Vault Enterprise (INVALID_CONFIG). The free edition and OpenBao ignore
// X-Vault-Namespace and answer from the root namespace, so reading on would
// silently serve another namespace's secrets.
var ErrNamespaceUnsupported = errors.New("vault server does not support namespaces")

// editionCheck remembers that the server was seen to honour namespaces, so
// that the extra sys/health request is made once per connector, not per
// read. A refusal is not remembered: the server may be upgraded.
type editionCheck struct {
	mu sync.Mutex
	ok bool
}

// ensureNamespaces refuses to go on when a namespace is configured and the
// server says (sys/health "enterprise") that it cannot honour it.
func (c *Connector) ensureNamespaces(ctx context.Context) error {
	if c.namespace == "" {
		return nil
	}
	e := &c.edition
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok {
		return nil
	}
	h, err := c.login.Sys().HealthWithContext(ctx)
	if err != nil {
		return c.classify(err, "read Vault's sys/health")
	}
	if err := namespaceSupport(c.namespace, h.Enterprise); err != nil {
		return err
	}
	e.ok = true
	return nil
}

// namespaceSupport is the rule ensureNamespaces and CheckConnectivity share.
func namespaceSupport(namespace string, enterprise bool) error {
	if namespace == "" || enterprise {
		return nil
	}
	return &resilience.Error{Code: resilience.InvalidConfig, Err: ErrNamespaceUnsupported,
		Message: fmt.Sprintf("config field \"namespace\" is %q but this server is not Vault Enterprise: it ignores namespaces "+
			"and would answer from its root namespace; remove the namespace or point url at an Enterprise server", namespace)}
}

// readPaths remembers the last paths the store was asked to read, so that
// the functionality check judges the token's policies on exactly those
// paths: a least-privilege token has no capability on the mount itself.
type readPaths struct {
	mu    sync.Mutex
	paths []string // most recent last
}

// maxCheckedPaths bounds both the memory and the capability requests of
// one functionality check.
const maxCheckedPaths = 8

func (r *readPaths) add(p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, q := range r.paths {
		if q == p {
			r.paths = append(r.paths[:i], r.paths[i+1:]...)
			break
		}
	}
	r.paths = append(r.paths, p)
	if len(r.paths) > maxCheckedPaths {
		r.paths = r.paths[len(r.paths)-maxCheckedPaths:]
	}
}

func (r *readPaths) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}
