package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/httpx"
)

// sizeStats is what one catalog size measured.
type sizeStats struct {
	Integrations int `json:"integrations"`
	// Workers is Config.Workers; 0 is the service's default.
	Workers int `json:"workers"`
	// LoadSec is putting the integrations into the bucket; StartSec is Run
	// until ready (the catalog replayed into the schedule).
	LoadSec  float64 `json:"loadSeconds"`
	StartSec float64 `json:"startSeconds"`
	// WindowSec is the measured window; everything below is inside it.
	WindowSec      float64 `json:"windowSeconds"`
	Checks         int64   `json:"checks"`
	FailedChecks   int64   `json:"failedChecks"`
	ChecksPerSec   float64 `json:"checksPerSec"`
	ExpectedPerSec float64 `json:"expectedChecksPerSec"`
	// PublishedPerSec is check commands the schedule published: below
	// expected means slots were dropped or late.
	PublishedPerSec float64 `json:"publishedPerSec"`
	// ScheduleLag is slot due -> command handed to the bus (what
	// inthub_health_schedule_lag_seconds observes); CheckLag is slot due ->
	// the check's health.checked event, so it includes the queue and the
	// check itself.
	ScheduleLag latency `json:"scheduleLag"`
	CheckLag    latency `json:"checkLag"`
	// Backlog is check commands stored but not yet done (pending + being
	// worked on) at the window's start and end: growth means the workers
	// fall behind the schedule.
	BacklogStart uint64 `json:"backlogStart"`
	BacklogEnd   uint64 `json:"backlogEnd"`
	// CPUSec is getrusage(RUSAGE_SELF) user+sys over the window: the
	// scheduler, the embedded nats-server and this bench's subscriptions.
	CPUSec        float64 `json:"cpuSeconds"`
	CPUSecPer1000 float64 `json:"cpuSecondsPer1000Checks"`
	// OtherCPUSec is CPU the rest of the machine used during the window
	// (/proc/stat busy minus ours; -1 when unknown): figures taken while it
	// is high measure the neighbours as much as the scheduler.
	OtherCPUSec float64 `json:"otherCpuSeconds"`
	PeakRSSMB   float64 `json:"peakRssMB"`
	// AllocKBPerCheck and MallocsPerCheck are the process's heap
	// allocation (scheduler and server) per check: what the GC pays for,
	// and unlike CPU time not inflated by other load on the machine.
	AllocKBPerCheck float64 `json:"allocKBPerCheck"`
	MallocsPerCheck float64 `json:"mallocsPerCheck"`
	// Dropped counts check-lag messages the bench's own subscriptions lost.
	Dropped int `json:"droppedLagSamples"`
	// Peer is blackbox_exporter probing the same target at ChecksPerSec
	// (-blackbox), measured after the hub stopped.
	Peer *peerStats `json:"peer,omitempty"`
}

// checkLagSample is about how many integrations the check lag follows.
const checkLagSample = 1000

// benchSize runs one catalog size on its own server and measures it.
func benchSize(ctx context.Context, o options, n int, profile string) (st sizeStats, err error) {
	st.Integrations = n
	dir, err := os.MkdirTemp("", "schedbench-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(dir)
	srv, err := startServer(dir)
	if err != nil {
		return st, err
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	nc, err := nats.Connect(srv.ClientURL(), nats.Name("schedbench"))
	if err != nil {
		return st, err
	}
	defer nc.Close()
	ep, err := newEndpoint(o.endpoint)
	if err != nil {
		return st, err
	}
	defer ep.close()

	setupCtx, cancelSetup := context.WithTimeout(ctx, o.setupTimeout)
	defer cancelSetup()
	tenants := make([]string, o.tenants)
	for i := range tenants {
		tenants[i] = uuid.NewString()
	}
	began := time.Now()
	if err := load(setupCtx, nc, n, tenants, o, ep); err != nil {
		return st, fmt.Errorf("load: %w", err)
	}
	st.LoadSec = time.Since(began).Seconds()

	schedLag := &lagRecorder{}
	// About checkLagSample integrations' checks are followed, whatever n.
	sampled := min(max((checkLagSample*len(tenants)+n-1)/n, 1), len(tenants))
	checkLag, err := watchCheckLag(nc, tenants[:sampled])
	if err != nil {
		return st, err
	}
	defer checkLag.stop()

	metrics := prometheus.NewRegistry()
	ready := make(chan struct{})
	cfg := healthscheduler.Config{
		Bus: busConfig(srv),
		// A service's logger: JSON at info writing nowhere, so what the
		// scheduler logs per check is paid for here too.
		Logger:      slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Metrics:     metrics,
		Registry:    ep.registry,
		Policy:      httpx.GuardPolicy{AllowPrivate: true}, // the httptest endpoint is on loopback
		Intervals:   o.intervals(),
		Workers:     o.workers,
		OnPublished: schedLag.observe,
		Ready:       ready,
	}
	startedRun, err := startScheduler(setupCtx, ctx, cfg, ready)
	if err != nil {
		return st, err
	}
	var stopOnce sync.Once
	var stopErr error
	stopRun := func() error { stopOnce.Do(func() { stopErr = startedRun() }); return stopErr }
	defer func() {
		if serr := stopRun(); serr != nil && err == nil {
			err = serr
		}
	}()
	st.StartSec = time.Since(began).Seconds() - st.LoadSec
	st.Workers = o.workers
	fmt.Fprintf(os.Stderr, "schedbench: %d integrations loaded in %.1fs, scheduler ready in %.1fs; warming up %s, then measuring %s\n",
		n, st.LoadSec, st.StartSec, o.warmup, o.duration)
	if err := sleep(ctx, o.warmup); err != nil {
		return st, err
	}
	if err := measure(ctx, o, nc, metrics, schedLag, checkLag, profile, &st); err != nil {
		return st, err
	}
	if o.blackbox {
		// The hub stops first: the exporter gets the machine (and the
		// registry) to itself, as the hub had it.
		if err := stopRun(); err != nil {
			return st, err
		}
		peer, err := runBlackbox(ctx, ep.target, st.ChecksPerSec, o.duration)
		if err != nil {
			return st, fmt.Errorf("blackbox exporter: %w", err)
		}
		if peer.CPUSecPer1000 > 0 {
			peer.HubPeerRatio = st.CPUSecPer1000 / peer.CPUSecPer1000
		}
		st.Peer = &peer
	}
	iv := o.intervals()
	st.ExpectedPerSec = float64(n) * (1/iv.Connectivity.Seconds() + 1/iv.Authentication.Seconds() + 1/iv.Functionality.Seconds())
	return st, nil
}

// measure takes the window's figures into st.
func measure(ctx context.Context, o options, nc *nats.Conn, metrics *prometheus.Registry, schedLag *lagRecorder, checkLag *checkLagWatch, profile string, st *sizeStats) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if st.BacklogStart, err = backlog(ctx, js); err != nil {
		return err
	}
	checks0, failed0, err := checksTotal(metrics)
	if err != nil {
		return err
	}
	stopProfile, err := startProfile(profile)
	if err != nil {
		return err
	}
	var mem0, mem1 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	busy0, busyOK := machineBusy()
	cpu0, t0 := processCPU(), time.Now()
	schedLag.open()
	checkLag.rec.open()
	err = sleep(ctx, o.duration)
	schedLag.close()
	checkLag.rec.close()
	cpu1, t1 := processCPU(), time.Now()
	busy1, _ := machineBusy()
	runtime.ReadMemStats(&mem1)
	stopProfile()
	if err != nil {
		return err
	}
	checks1, failed1, err := checksTotal(metrics)
	if err != nil {
		return err
	}
	if st.BacklogEnd, err = backlog(ctx, js); err != nil {
		return err
	}
	st.WindowSec = t1.Sub(t0).Seconds()
	st.Checks, st.FailedChecks = checks1-checks0, failed1-failed0
	st.ChecksPerSec = float64(st.Checks) / st.WindowSec
	st.ScheduleLag, st.CheckLag = schedLag.latency(), checkLag.rec.latency()
	st.CPUSec = (cpu1 - cpu0).Seconds()
	st.OtherCPUSec = -1
	if busyOK {
		st.OtherCPUSec = max((busy1-busy0).Seconds()-st.CPUSec, 0)
	}
	if st.Checks > 0 {
		st.CPUSecPer1000 = st.CPUSec / float64(st.Checks) * 1000
		st.AllocKBPerCheck = float64(mem1.TotalAlloc-mem0.TotalAlloc) / 1024 / float64(st.Checks)
		st.MallocsPerCheck = float64(mem1.Mallocs-mem0.Mallocs) / float64(st.Checks)
	}
	st.PublishedPerSec = float64(st.ScheduleLag.Samples) / st.WindowSec
	st.PeakRSSMB = peakRSSMB()
	st.Dropped = checkLag.dropped()
	return nil
}

// startScheduler runs healthscheduler.Run until the returned stop is
// called, and returns once it is ready (or setupCtx ends). Run's context
// derives from ctx, not setupCtx: the setup limit does not stop the window.
func startScheduler(setupCtx, ctx context.Context, cfg healthscheduler.Config, ready <-chan struct{}) (stop func() error, err error) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- healthscheduler.Run(runCtx, cfg) }()
	stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			return errors.New("health-scheduler did not stop in a minute")
		}
	}
	select {
	case <-ready:
		return stop, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("health-scheduler stopped before it was ready: %v", err)
	case <-setupCtx.Done():
		_ = stop()
		return nil, fmt.Errorf("health-scheduler not ready: %w", setupCtx.Err())
	}
}

// busConfig is the production bus configuration against srv.
func busConfig(srv *server.Server) bus.Config {
	c := bus.DefaultConfig()
	c.URL = srv.ClientURL()
	c.Name = "health-scheduler"
	return c
}

// startServer runs nats-server with JetStream on a random loopback port and a
// file store in dir, as production stores streams on file.
func startServer(dir string) (*server.Server, error) {
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats server not ready")
	}
	return s, nil
}

// backlog is the check commands the health-checks consumer has not finished.
func backlog(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	c, err := js.Consumer(ctx, bus.StreamCommands, "health-checks")
	if err != nil {
		return 0, fmt.Errorf("health-checks consumer: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("health-checks consumer: %w", err)
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// checksTotal sums inthub_health_checks_total, and the part of it whose
// status was not healthy.
func checksTotal(reg *prometheus.Registry) (total, failed int64, err error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() != "inthub_health_checks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := int64(m.GetCounter().GetValue())
			total += v
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() != "healthy" {
					failed += v
				}
			}
		}
	}
	return total, failed, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
