// Package benchkit is what the devstack's benchmarks (ingressbench,
// discobench) share: a whole hub started in the bench's own process with an
// HTTP client sized for many concurrent clients, a CPU profile of one
// phase, the clients' request loop, closed or paced, and a paced phase's
// floor (the same loop against a bare net/http server).
package benchkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	stop   sync.Once
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
	h.Client = newClient()
	return h, nil
}

// newClient is the benches' HTTP client. Every client of a phase keeps its
// connection: a new one per request would measure the kernel's handshakes,
// not the hub.
func newClient() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
}

// Floor is a paced phase's floor: the same clients, at the same pace, ask
// a bare net/http server in this process that answers every request with
// answer (the hub's answer to the phase's request, so the bytes moved are
// the same). It is what this machine, its loopback and net/http cost such
// a request by themselves — on a small VM the wake-ups of idle cores alone
// put a paced p99 in milliseconds — measured in the same run, so the hub's
// p99 is read beside the figure it cannot go below. Run it with the hub
// stopped: the floor is the machine's, not the hub's background work's.
func Floor(ctx context.Context, clients int, interval time.Duration, warmup, end time.Time, method string, reqBody, answer []byte) ([]time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	client := newClient()
	defer client.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/floor"
	return Load(ctx, clients, interval, warmup, end, func(ctx context.Context, _, _ int) error {
		var rd io.Reader
		if reqBody != nil {
			rd = bytes.NewReader(reqBody)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer floor")
		if reqBody != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if !bytes.Equal(b, answer) {
			return errors.New("floor server answered other bytes")
		}
		return nil
	})
}

// Stop stops the hub and waits until it has; once stopped, it returns at
// once.
func (h *Hub) Stop() {
	h.stop.Do(func() {
		h.cancel()
		<-h.done
		h.Client.CloseIdleConnections()
	})
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
// one interval, and a request the answer before it delayed past its
// scheduled time counts from that time, so a slow answer is not hidden (no
// coordinated omission); one sent on time counts from when the client's
// timer woke it. do is request n of client i.
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
				// A paced request counts from its scheduled time when the
				// answer before it kept the client past that time (no
				// coordinated omission); after a sleep it counts from the
				// wake-up, since the timer's own overshoot (the runtime
				// rounds poller waits up to whole milliseconds) is the
				// client's, not the hub's.
				start := next
				if wait := time.Until(next); wait > 0 {
					time.Sleep(wait)
					start = time.Now()
				}
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
