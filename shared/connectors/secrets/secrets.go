// Package secrets holds what the secret-store providers (vault, awssm,
// azurekv, gcpsm) share: the adapter through which credentials.Stores reads
// from the connector of a store integration, the rule that a store's own
// credentials are local references, and the reading of store values.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Pool gives the connector of an integration's current revision;
// *runtime.Pool implements it.
type Pool interface {
	Get(ctx context.Context, it contracts.Integration) (connectors.Connector, *connectors.Spec, error)
}

// Readers adapts a connector pool to credentials.StoreReaders: the store
// integration's connector, which must be a secret store implementing
// connectors.SecretReader.
type Readers struct{ Pool Pool }

var _ credentials.StoreReaders = Readers{}

// StoreReader implements credentials.StoreReaders.
func (r Readers) StoreReader(ctx context.Context, store contracts.Integration) (credentials.SecretReader, error) {
	conn, spec, err := r.Pool.Get(ctx, store)
	if err != nil {
		return nil, err
	}
	if spec.Category != connectors.CategorySecretStore {
		return nil, resilience.New(resilience.InvalidConfig,
			"integration %q is a %s (%s), not a secret store: credential references must name a secret-store integration",
			store.ID, spec.Category, spec.ID)
	}
	sr, ok := connectors.AsSecretReader(conn)
	if !ok {
		return nil, resilience.New(resilience.NotSupported, "secret store provider %s cannot read secrets", spec.ID)
	}
	return sr, nil
}

// CheckLocalRef refuses a store's own credential reference unless it is
// env:// or file://: a store cannot bootstrap from a store (it would need
// itself, or chain tenants' stores into each other).
func CheckLocalRef(field, raw string) error {
	if raw == "" {
		return nil
	}
	ref, err := credentials.ParseRef(raw)
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "%s", field)
	}
	if ref.Scheme != credentials.SchemeEnv && ref.Scheme != credentials.SchemeFile {
		return resilience.New(resilience.InvalidConfig,
			"%s of a secret store must be an env:// or file:// reference: a secret store cannot take its own credentials from a secret store (%s:// given)",
			field, ref.Scheme)
	}
	return nil
}

// ResolveOwn resolves a store's own credential reference (already checked by
// CheckLocalRef) for one call.
func ResolveOwn(ctx context.Context, src connectors.CredentialSource, field, ref string) (credentials.Secret, error) {
	if ref == "" {
		return nil, resilience.New(resilience.InvalidConfig, "%s is required for this authentication method", field)
	}
	return kit.Resolve(ctx, src, ref, field)
}

// AmbientEnv is the variable an operator sets to "true" to let secret-store
// integrations use the hub's own ambient identity (Azure managed identity,
// the pod's Kubernetes service account for Vault's kubernetes auth). Off by
// default: with it, any tenant's integration acts as the hub.
const AmbientEnv = "INTHUB_ALLOW_AMBIENT_CREDENTIALS"

// AmbientAllowed reports whether the operator allowed ambient identities.
func AmbientAllowed() bool { return os.Getenv(AmbientEnv) == "true" }

// Values reads a store's string value: a JSON object becomes its fields
// (nested values as JSON), anything else is the single key "value".
func Values(s string) map[string]string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(t), &m) == nil && len(m) > 0 {
			return credentials.StringValues(m)
		}
	}
	return map[string]string{"value": s}
}

// Detail shortens a store's own error text for a message: printable, one
// line, at most 160 characters. Use it only on texts the store writes about
// the request (never on bodies that may echo what we sent).
func Detail(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 160 {
		s = string([]rune(s)[:160]) + "…"
	}
	return s
}

// ClientFailure codes an SDK client's failure that is neither a service
// answer nor the guarded client's coded error, for the operation op of
// client ("the AWS client"). net/http reports its client Timeout as a
// url.Error holding only text, so a server that never answers is told
// apart here (TIMEOUT) from any other failure (UPSTREAM_ERROR). The SDK's
// own text, which may hold the URL, is dropped.
func ClientFailure(op, client string, err error) error {
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout() {
		return &resilience.Error{Code: resilience.Timeout, Message: op + ": " + client + " got no answer in time", Err: context.DeadlineExceeded}
	}
	return &resilience.Error{Code: resilience.UpstreamError, Message: op + ": " + client + " failed"}
}
