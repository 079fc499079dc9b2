package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stella-ops/inthub/services/devstack/internal/benchkit"
	"github.com/stella-ops/inthub/shared/contracts"
)

// call posts body to path and decodes a 2xx answer into out.
func (h *hub) call(ctx context.Context, method, path string, body, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	b, err := h.send(ctx, method, path, raw)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// send posts raw to path and returns a 2xx answer's body.
func (h *hub) send(ctx context.Context, method, path string, raw []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.Base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.Info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

// createRegistry creates a docker-registry integration of url.
func (h *hub) createRegistry(url string) (string, error) {
	return h.createRegistryConfig(map[string]any{"url": url})
}

// createRegistryConfig creates a docker-registry integration of cfg, whose
// outbound request limit is lifted: the hub's own cost is measured.
func (h *hub) createRegistryConfig(cfg map[string]any) (string, error) {
	cfg["rateLimitPerSecond"], cfg["maxConcurrentRequests"] = 10000, 256
	var it contracts.Integration
	err := h.call(context.Background(), http.MethodPost, "/api/v1/integrations",
		contracts.IntegrationInput{TypeID: "docker-registry", Name: "bench registry", Config: cfg}, &it)
	return it.ID, err
}

// coldOne is one cold discovery (refresh=true) of every repository: its
// time to the answer's last byte. The answer is decoded and checked after
// the clock stops: decoding 200 resources into Go values is the bench's own
// work (about 0.5 ms of its CPU on the same two cores), not the hub's, and
// go-containerregistry's own decoding of the registry's bare list of names
// is inside its call.
func (h *hub) coldOne(ctx context.Context, id string, o options) (time.Duration, error) {
	body, err := json.Marshal(contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 1000})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	b, err := h.send(ctx, http.MethodPost, "/api/v1/integrations/"+id+"/discover?refresh=true", body)
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	var res contracts.DiscoveryResult
	if err := json.Unmarshal(b, &res); err != nil {
		return 0, err
	}
	if res.CacheHit || len(res.Items) != o.repos {
		return 0, fmt.Errorf("cold discovery: hit %v, %d repositories, want a miss of %d", res.CacheHit, len(res.Items), o.repos)
	}
	return d, nil
}

// hitPhase is what one cache-hit phase measured.
type hitPhase struct {
	name      string
	mode      string
	latencies []time.Duration
	perSecond float64
	// request and answer are the phase's request body and one of its
	// answers: the paced phase's floor (benchkit.Floor) moves the same bytes.
	request, answer []byte
}

// hits runs o.clients clients asking the same cached page for
// o.hitsDuration, after a warm-up second. With interval 0 each client asks
// again as soon as it has its answer (closed loop: the hub's capacity);
// otherwise each asks once per interval for o.pacedDuration (benchkit.Load:
// no coordinated omission).
func (h *hub) hits(ctx context.Context, id, name string, interval time.Duration, o options) (hitPhase, error) {
	path := "/api/v1/integrations/" + id + "/discover"
	req := contracts.DiscoveryRequest{ResourceType: "repositories"}
	if err := h.call(ctx, http.MethodPost, path, req, nil); err != nil { // fill
		return hitPhase{}, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return hitPhase{}, err
	}
	duration := o.hitsDuration
	if interval > 0 {
		duration = o.pacedDuration
	}
	warmup := time.Now().Add(time.Second)
	end := warmup.Add(duration)
	latencies, err := benchkit.Load(ctx, o.clients, interval, warmup, end, func(ctx context.Context, _, _ int) error {
		// The answer is not decoded, only looked at for "cacheHit":true
		// (the names here hold no quotes): decoding the page's 100
		// resources in the bench's own process took more CPU than the hub
		// answering them, on the same 2 cores.
		b, err := h.send(ctx, http.MethodPost, path, body)
		if err == nil && !bytes.Contains(b, []byte(`"cacheHit":true`)) {
			err = errors.New("a cache-hit phase answer was not a hit")
		}
		return err
	})
	if err != nil {
		return hitPhase{}, err
	}
	answer, err := h.send(ctx, http.MethodPost, path, body)
	if err != nil {
		return hitPhase{}, err
	}
	mode := "closed loop"
	if interval > 0 {
		mode = fmt.Sprintf("%.0f req/s each", time.Second.Seconds()/interval.Seconds())
	}
	return hitPhase{name: name, mode: mode, latencies: latencies, perSecond: float64(len(latencies)) / duration.Seconds(), request: body, answer: answer}, nil
}

// floor is the paced cache-hit phases' floor (benchkit.Floor), run with
// every hub stopped: the same clients at the same pace against a bare
// net/http server answering p's answer to p's request.
func floor(ctx context.Context, p hitPhase, o options) (hitPhase, error) {
	interval := time.Duration(float64(time.Second) / o.clientRate)
	warmup := time.Now().Add(time.Second)
	latencies, err := benchkit.Floor(ctx, o.clients, interval, warmup, warmup.Add(o.pacedDuration), http.MethodPost, p.request, p.answer)
	if err != nil {
		return hitPhase{}, err
	}
	return hitPhase{name: "floor: net/http, same bytes, hub stopped", mode: p.mode, latencies: latencies, perSecond: float64(len(latencies)) / o.pacedDuration.Seconds()}, nil
}
