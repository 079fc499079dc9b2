package kit

import (
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// DefaultMaxBody bounds a JSON answer read into memory when a Request sets
// no MaxBody: a page of a few hundred items is well under a megabyte.
const DefaultMaxBody = 16 << 20

// Client is a connector's guarded HTTP client with the clock its error
// classification reads (Retry-After as an HTTP date). Tests replace Now.
type Client struct {
	HTTP *httpx.Client
	Now  func() time.Time
}

// NewClient takes the guarded client the runtime built for in. The runtime
// always hands one over (runtime.Pool builds it from the integration's
// timeout, TLS fields and the operator's address policy); a factory called
// without one refuses with INVALID_CONFIG rather than build an unguarded or
// differently guarded client of its own.
func NewClient(in connectors.Instance) (Client, error) {
	if in.HTTP == nil {
		return Client{}, resilience.New(resilience.InvalidConfig,
			"no HTTP client was given to the %s connector: connectors are built by the runtime, which supplies the guarded client",
			in.Integration.TypeID)
	}
	return Client{HTTP: in.HTTP, Now: time.Now}, nil
}

// now is the client's clock, time.Now when none is set.
func (c Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}
