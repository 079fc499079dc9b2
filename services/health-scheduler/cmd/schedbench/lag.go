package main

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// latency summarises a window's lag samples.
type latency struct {
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50Ms"`
	P99Ms   float64 `json:"p99Ms"`
	MaxMs   float64 `json:"maxMs"`
}

// lagRecorder keeps every lag observed while it is open.
type lagRecorder struct {
	mu   sync.Mutex
	on   bool
	lags []time.Duration
}

// observe is healthscheduler.Config.OnPublished.
func (r *lagRecorder) observe(due, published time.Time) { r.add(published.Sub(due)) }

func (r *lagRecorder) add(d time.Duration) {
	r.mu.Lock()
	if r.on {
		r.lags = append(r.lags, d)
	}
	r.mu.Unlock()
}

func (r *lagRecorder) open()  { r.mu.Lock(); r.on = true; r.mu.Unlock() }
func (r *lagRecorder) close() { r.mu.Lock(); r.on = false; r.mu.Unlock() }

// latency returns the nearest-rank percentiles of what was recorded.
func (r *lagRecorder) latency() latency {
	r.mu.Lock()
	lags := slices.Clone(r.lags)
	r.mu.Unlock()
	if len(lags) == 0 {
		return latency{}
	}
	slices.Sort(lags)
	at := func(p float64) float64 {
		i := int(float64(len(lags))*p+0.5) - 1
		return ms(lags[min(max(i, 0), len(lags)-1)])
	}
	return latency{Samples: len(lags), P50Ms: at(0.50), P99Ms: at(0.99), MaxMs: ms(lags[len(lags)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// checkLagWatch measures slot due -> health.checked from outside the
// service: it reads each check command's scheduledAt and matches the
// health.checked event the check publishes (whose id is the command's plus
// ":checked"), both through plain NATS subscriptions. It watches a sample of
// tenants only, so that its own cost stays out of the figures.
type checkLagWatch struct {
	rec  lagRecorder
	mu   sync.Mutex
	due  map[string]time.Time // command id -> slot due time
	subs []*nats.Subscription
}

func watchCheckLag(nc *nats.Conn, tenants []string) (*checkLagWatch, error) {
	w := &checkLagWatch{due: map[string]time.Time{}}
	onCommand := func(m *nats.Msg) {
		var cmd contracts.HealthCheckRequested
		if json.Unmarshal(m.Data, &cmd) != nil {
			return
		}
		id := m.Header.Get(bus.HeaderID)
		w.mu.Lock()
		if len(cmd.CheckTypes) > 1 {
			// One command for a new revision's levels: each level's
			// health.checked carries the id its own command would have had.
			integration, rest, _ := strings.Cut(id, ":")
			_, slot, _ := strings.Cut(rest, ":")
			for _, ct := range cmd.CheckTypes {
				w.due[integration+":"+string(ct)+":"+slot] = cmd.ScheduledAt
			}
		} else {
			w.due[id] = cmd.ScheduledAt
		}
		w.mu.Unlock()
	}
	onChecked := func(m *nats.Msg) {
		now := time.Now()
		id, ok := strings.CutSuffix(m.Header.Get(bus.HeaderID), ":checked")
		if !ok {
			return
		}
		w.mu.Lock()
		due, ok := w.due[id]
		delete(w.due, id)
		w.mu.Unlock()
		if ok {
			w.rec.add(now.Sub(due))
		}
	}
	for _, t := range tenants {
		for subject, cb := range map[string]nats.MsgHandler{
			contracts.Subject(contracts.SubjectHealthCheckRequest, t, "*"): onCommand,
			contracts.Subject(contracts.SubjectHealthChecked, t, "*"):      onChecked,
		} {
			sub, err := nc.Subscribe(subject, cb)
			if err != nil {
				w.stop()
				return nil, err
			}
			w.subs = append(w.subs, sub)
		}
	}
	return w, nc.Flush()
}

// dropped is how many messages the subscriptions lost to their pending limits.
func (w *checkLagWatch) dropped() int {
	n := 0
	for _, s := range w.subs {
		d, _ := s.Dropped()
		n += d
	}
	return n
}

func (w *checkLagWatch) stop() {
	for _, s := range w.subs {
		_ = s.Unsubscribe()
	}
}
