package vault

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

var _ credentials.LeaseReader = (*Connector)(nil)

// ReadSecret implements connectors.SecretReader: the values of the secret
// at path under the KV mount (nested values as JSON).
func (c *Connector) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	s, err := c.read(ctx, path)
	return s.Data, err
}

// ReadSecretLease implements credentials.LeaseReader: KV v1 answers carry a
// lease_duration (the mount's or the secret's "ttl"); KV v2 has none.
func (c *Connector) ReadSecretLease(ctx context.Context, path string) (credentials.StoreSecret, error) {
	return c.read(ctx, path)
}

func (c *Connector) read(ctx context.Context, path string) (credentials.StoreSecret, error) {
	path = strings.Trim(path, "/")
	if err := checkPath("secret path", path); err != nil {
		return credentials.StoreSecret{}, err
	}
	c.recent.add(path)
	var kv *api.KVSecret
	err := c.call(ctx, fmt.Sprintf("read %s/%s", c.mount, path), func(ctx context.Context) error {
		var err error
		if c.kv2 {
			kv, err = c.vc.KVv2(c.mount).Get(ctx, path)
		} else {
			kv, err = c.vc.KVv1(c.mount).Get(ctx, path)
		}
		if errors.Is(err, api.ErrSecretNotFound) {
			return &resilience.Error{Code: resilience.ResourceNotFound, Err: ErrSecretNotFound,
				Message: fmt.Sprintf("no secret %q in the KV mount %q", path, c.mount)}
		}
		return err
	})
	if err != nil {
		return credentials.StoreSecret{}, err
	}
	if kv.Data == nil {
		if kv.VersionMetadata != nil && (!kv.VersionMetadata.DeletionTime.IsZero() || kv.VersionMetadata.Destroyed) {
			return credentials.StoreSecret{}, &resilience.Error{Code: resilience.ResourceNotFound, Err: ErrSecretNotFound,
				Message: fmt.Sprintf("the latest version (%d) of secret %q in the KV mount %q is deleted", kv.VersionMetadata.Version, path, c.mount)}
		}
		if !c.kv2 && kv.Raw != nil && len(kv.Raw.Warnings) > 0 {
			return credentials.StoreSecret{}, resilience.New(resilience.InvalidConfig,
				"the KV mount %q answers as a versioned (v2) engine: set kvVersion to 2", c.mount)
		}
		return credentials.StoreSecret{}, &resilience.Error{Code: resilience.ResourceNotFound, Err: ErrSecretNotFound,
			Message: fmt.Sprintf("no secret %q in the KV mount %q", path, c.mount)}
	}
	out := credentials.StoreSecret{Data: credentials.StringValues(kv.Data)}
	if kv.VersionMetadata != nil {
		out.Version = strconv.Itoa(kv.VersionMetadata.Version)
	}
	if kv.Raw != nil && kv.Raw.LeaseDuration > 0 {
		out.Lease = time.Duration(kv.Raw.LeaseDuration) * time.Second
	}
	return out, nil
}
