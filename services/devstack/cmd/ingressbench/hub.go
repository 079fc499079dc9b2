package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/devstack/internal/benchkit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
)

// hub is a running devstack and an HTTP client for it.
type hub struct{ *benchkit.Hub }

func startHub(ctx context.Context, dir string, logger *slog.Logger) (*hub, error) {
	h, err := benchkit.StartHub(ctx, devstack.Config{
		DataDir: dir, Addr: "127.0.0.1:0", Logger: logger,
		Policy: httpx.GuardPolicy{AllowPrivate: true},
	}, 60*time.Second)
	if err != nil {
		return nil, err
	}
	return &hub{h}, nil
}

// call sends body (nil: none) and decodes a 2xx answer into out.
func (h *hub) call(ctx context.Context, method, path string, body, out any) error {
	_, b, err := h.send(ctx, method, path, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// send sends body (nil: none) and returns a 2xx answer's header and body,
// read whole.
func (h *hub) send(ctx context.Context, method, path string, body any) (http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.Base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.Info.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.Header, b, nil
}

// checkBacklog is how many check commands the health-scheduler's workers
// have yet to finish (the three checks each new integration gets at once
// queue up behind a create phase and are worked off during the GET phases
// that follow, on the same cores); -1 when it cannot be read.
func (h *hub) checkBacklog(ctx context.Context) int {
	nc, err := nats.Connect(h.Info.NATSURL)
	if err != nil {
		return -1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return -1
	}
	c, err := js.Consumer(ctx, bus.StreamCommands, "health-checks")
	if err != nil {
		return -1
	}
	info, err := c.Info(ctx)
	if err != nil {
		return -1
	}
	return int(info.NumPending) + info.NumAckPending
}

// phase is what one phase measured.
type phase struct {
	latencies []time.Duration
	perSecond float64
	// cpu is the process's CPU time (hub and clients, one process) per
	// request, steadier than the rates on a shared machine.
	cpu time.Duration
	// backlog is the check commands still queued at the phase's end.
	backlog int
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// load runs clients for duration after a one-second warm-up. With
// interval 0 each client asks again as soon as it has its answer (closed
// loop); otherwise once per interval (benchkit.Load: no coordinated
// omission). do is one request of client i.
func load(ctx context.Context, clients int, interval, duration time.Duration, backlog func(context.Context) int, do func(ctx context.Context, client, n int) error) (phase, error) {
	warmup := time.Now().Add(time.Second)
	end := warmup.Add(duration)
	var cpuStart atomic.Int64
	cpuTimer := time.AfterFunc(time.Until(warmup), func() { cpuStart.Store(int64(cpuTime())) })
	latencies, err := benchkit.Load(ctx, clients, interval, warmup, end, do)
	cpuTimer.Stop()
	cpu := cpuTime() - time.Duration(cpuStart.Load())
	if err != nil {
		return phase{}, err
	}
	p := phase{latencies: latencies, perSecond: float64(len(latencies)) / duration.Seconds(), backlog: backlog(ctx)}
	if len(latencies) > 0 {
		p.cpu = cpu / time.Duration(len(latencies))
	}
	return p, nil
}

// createPhase creates inmemory integrations from o.createClients clients;
// it returns the ids created, for the GET phases.
//
// The clients decode no answer: a create's id is its Location, a GET's
// answer must name the id asked for. They share the process with the hub,
// so their CPU is in the CPU column: decoding every answer into
// contracts.Integration, as they did, charged the hub with the bench's own
// JSON (7 % of the closed-loop GET phase's samples still with a struct of
// the id alone).
func (h *hub) createPhase(ctx context.Context, o options) (phase, []string, error) {
	var mu sync.Mutex
	var ids []string
	p, err := load(ctx, o.createClients, 0, o.duration, h.checkBacklog, func(ctx context.Context, client, n int) error {
		in := contracts.IntegrationInput{TypeID: inmemory.Spec.ID, Name: fmt.Sprintf("bench-%d-%d", client, n),
			Config: map[string]any{"failureMode": inmemory.FailNone}, Labels: map[string]string{"env": "bench"}}
		hdr, _, err := h.send(ctx, http.MethodPost, "/api/v1/integrations", in)
		if err != nil {
			return err
		}
		id, ok := strings.CutPrefix(hdr.Get("Location"), "/api/v1/integrations/")
		if !ok || id == "" {
			return fmt.Errorf("create answered Location %q", hdr.Get("Location"))
		}
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		return nil
	})
	return p, ids, err
}

// getPhase reads random integrations of ids.
func (h *hub) getPhase(ctx context.Context, ids []string, interval time.Duration, o options) (phase, error) {
	if len(ids) == 0 {
		return phase{}, fmt.Errorf("no integrations to read")
	}
	duration := o.duration
	if interval > 0 {
		duration = o.pacedDuration
	}
	return load(ctx, o.getClients, interval, duration, h.checkBacklog, func(ctx context.Context, _, _ int) error {
		id := ids[rand.IntN(len(ids))]
		_, b, err := h.send(ctx, http.MethodGet, "/api/v1/integrations/"+id, nil)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte(`"id":"`+id+`"`)) {
			return fmt.Errorf("GET %s answered %.200s", id, b)
		}
		return nil
	})
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// floorPhase is the paced GET phase's floor (benchkit.Floor), the hub
// stopped: the same clients at the same pace against a bare net/http
// server answering answer, a GET's answer.
func floorPhase(ctx context.Context, o options, answer []byte) (phase, error) {
	warmup := time.Now().Add(time.Second)
	latencies, err := benchkit.Floor(ctx, o.getClients, time.Duration(float64(time.Second)/o.clientRate), warmup, warmup.Add(o.pacedDuration), http.MethodGet, nil, answer)
	if err != nil {
		return phase{}, err
	}
	return phase{latencies: latencies, perSecond: float64(len(latencies)) / o.pacedDuration.Seconds()}, nil
}
