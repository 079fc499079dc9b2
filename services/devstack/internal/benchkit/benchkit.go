// Package benchkit is what the devstack's benchmarks (ingressbench,
// discobench) share: a whole hub started in the bench's own process with an
// HTTP client sized for many concurrent clients, a CPU profile of one
// phase, and the clients' request loop, closed or paced.
package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/stella-ops/inthub/services/devstack"
)

// Hub is a running devstack and an HTTP client for it.
type Hub struct {
	Info   devstack.Info
	Base   string // http://<the ingress's address>
	Client *http.Client
	cancel context.CancelFunc
	done   chan error
}

// StartHub runs devstack.Run(cfg) until Stop, and returns once its
// ingress serves (or the hub failed, or wait passed).
func StartHub(ctx context.Context, cfg devstack.Config, wait time.Duration) (*Hub, error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan devstack.Info, 1)
	cfg.Ready = ready
	h := &Hub{cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- devstack.Run(ctx, cfg) }()
	select {
	case h.Info = <-ready:
		h.Base = "http://" + h.Info.HTTPAddr
	case err := <-h.done:
		cancel()
		return nil, fmt.Errorf("devstack: %w", err)
	case <-time.After(wait):
		cancel()
		return nil, errors.New("devstack did not start")
	}
	// Every client of a phase keeps its connection: a new one per request
	// would measure the kernel's handshakes, not the hub.
	h.Client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
	return h, nil
}

// Stop stops the hub and waits until it has.
func (h *Hub) Stop() {
	h.cancel()
	<-h.done
	h.Client.CloseIdleConnections()
}

// StartProfile writes a CPU profile to path until the returned func is
// called; "" profiles nothing.
func StartProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Load runs clients until end and returns the latencies of the requests
// that started after warmup, or the first error. With interval 0 each
// client asks again as soon as it has its answer (closed loop: the hub's
// capacity); otherwise each asks once per interval, the clients spread over
// one interval, and a latency counts from the scheduled time, so an answer
// late enough to delay the next request is not hidden (no coordinated
// omission). do is request n of client i.
func Load(ctx context.Context, clients int, interval time.Duration, warmup, end time.Time, do func(ctx context.Context, client, n int) error) ([]time.Duration, error) {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			next := time.Now()
			if interval > 0 {
				next = next.Add(interval * time.Duration(i) / time.Duration(clients))
			}
			for n := 0; next.Before(end) && ctx.Err() == nil; n++ {
				if wait := time.Until(next); wait > 0 {
					time.Sleep(wait)
				}
				start := next
				if interval == 0 {
					start = time.Now()
				}
				err := do(ctx, i, n)
				d := time.Since(start)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if start.After(warmup) {
					mine = append(mine, d)
				}
				if interval > 0 {
					next = next.Add(interval)
				} else {
					next = time.Now()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return latencies, firstErr
}
