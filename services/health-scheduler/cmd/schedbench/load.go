package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/registry/dockerregistry"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// endpoint is what the benchmark's integrations are checked against.
type endpoint struct {
	registry *connectors.Registry
	typeID   string
	config   map[string]any
	srv      *httptest.Server
	// reg is Debian's docker-registry (-endpoint registry), with its
	// files in dir; target is its /v2/, what the blackbox peer probes.
	reg    *testsvc.Registry
	dir    string
	target string
}

// newEndpoint returns the inmemory provider (no I/O: the scheduler and the
// bus alone) or the docker-registry provider against an httptest registry
// on loopback that answers every check.
func newEndpoint(kind string) (*endpoint, error) {
	if kind == endpointRegistry {
		dir, err := os.MkdirTemp("", "schedbench-registry-")
		if err != nil {
			return nil, err
		}
		reg, err := testsvc.RunRegistry(dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("docker-registry: %w", err)
		}
		return &endpoint{registry: connectors.NewRegistry(dockerregistry.Spec), typeID: dockerregistry.ProviderID,
			config: map[string]any{"url": reg.URL}, reg: reg, dir: dir, target: reg.URL + "/v2/"}, nil
	}
	if kind != endpointHTTP {
		return &endpoint{registry: connectors.NewRegistry(inmemory.Spec), typeID: inmemory.Spec.ID,
			config: map[string]any{"failureMode": inmemory.FailNone}}, nil
	}
	srv := httptest.NewUnstartedServer(registryAPI())
	// Every integration has its own HTTP client, so kept-alive connections
	// would be one per integration (two descriptors each in this process):
	// 100,000 of them exceed the usual descriptor limit. Each check opens
	// its own connection instead.
	srv.Config.SetKeepAlivesEnabled(false)
	srv.Start()
	return &endpoint{registry: connectors.NewRegistry(dockerregistry.Spec), typeID: dockerregistry.ProviderID,
		config: map[string]any{"url": srv.URL}, srv: srv}, nil
}

func (e *endpoint) close() {
	if e.srv != nil {
		e.srv.Close()
	}
	if e.reg != nil {
		if err := e.reg.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "schedbench: stop docker-registry:", err)
		}
		os.RemoveAll(e.dir)
	}
}

// registryAPI answers the three checks of an anonymous Docker Registry.
func registryAPI() http.Handler {
	mux := http.NewServeMux()
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}
	}
	mux.HandleFunc("GET /v2/{$}", answer(`{}`))
	mux.HandleFunc("GET /v2/_catalog", answer(`{"repositories":["bench/app"]}`))
	return mux
}

// load puts n integrations, spread round-robin over tenants, into the
// integrations bucket as the manager would, with async publishes to the
// bucket's subjects and at most o.inflight unacknowledged, then checks the
// bucket holds n keys.
func load(ctx context.Context, nc *nats.Conn, n int, tenants []string, o options, ep *endpoint) error {
	var failed atomic.Int64
	var firstErr error
	var once sync.Once
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(o.inflight),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			failed.Add(1)
			once.Do(func() { firstErr = err })
		}))
	if err != nil {
		return err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, catalog.IntegrationsBucket(1))
	if err != nil {
		return fmt.Errorf("integrations bucket: %w", err)
	}
	now := time.Now().UTC()
	for i := 0; i < n; i++ {
		it := contracts.Integration{
			ID: uuid.NewString(), TenantID: tenants[i%len(tenants)], TypeID: ep.typeID, Name: fmt.Sprintf("bench-%d", i),
			Config: ep.config, Labels: map[string]string{"env": "bench"}, HealthStatus: contracts.HealthUnknown,
			CreatedAt: now, UpdatedAt: now,
		}
		body, err := json.Marshal(it)
		if err != nil {
			return err
		}
		subject := "$KV." + catalog.BucketIntegrations + "." + it.TenantID + "." + it.ID
		for {
			// Blocks while o.inflight puts await their ack; gives up after
			// the stall wait, and then we simply try again.
			_, err = js.PublishAsync(subject, body)
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("put integration %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d puts failed, the first with: %v", f, n, firstErr)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return err
	}
	if st.Values() != uint64(n) {
		return fmt.Errorf("the bucket holds %d integrations, want %d", st.Values(), n)
	}
	return nil
}
