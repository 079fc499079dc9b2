package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

const (
	benchTenant       = "bench"
	benchIntegrations = 16
)

// hubPhase measures command -> handler -> event through shared/bus: an
// "ingress" bus publishes integration.test.requested commands, a "worker"
// bus's Router handles them and publishes integration.test.completed, and the
// ingress reads the events back with an ordered consumer. Two buses, as two
// services would have.
//
// rate > 0 paces the commands at rate per second (the latency row at half
// the peak); 0 publishes as fast as the in-flight window allows.
func hubPhase(ctx context.Context, url string, o options, name string, n int, rate float64) (phaseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// A service's logger: JSON at info, as telemetry.NewLogger makes it,
	// writing nowhere, so what the bus logs per message is paid for here too.
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := bus.DefaultConfig()
	cfg.URL = url
	cfg.Name = "busbench-worker"
	worker, err := bus.Open(ctx, cfg, logger)
	if err != nil {
		return phaseResult{}, err
	}
	defer worker.Close()
	cfg.Name = "busbench-ingress"
	ingress, err := bus.Open(ctx, cfg, logger)
	if err != nil {
		return phaseResult{}, err
	}
	defer ingress.Close()

	stopRouter, err := startWorker(ctx, worker, o.concurrency)
	if err != nil {
		return phaseResult{}, err
	}
	defer stopRouter()

	t := newTracker(n, o.inflight)
	var sl *stageLog
	if o.stages && rate > 0 {
		sl = newStageLog(n)
	}
	stages.Store(sl)
	defer stages.Store(nil)
	fail := newErrSink()
	events, err := ingress.JetStream().OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{contracts.SubjectTestCompleted + ".>"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return phaseResult{}, err
	}
	cc, err := events.Consume(func(m jetstream.Msg) {
		// Only the request id is wanted, as the raw phase reads only its
		// sequence: decoding the event (json.Unmarshal scans all of it
		// twice, ~2.5 % of the phase's CPU) would charge the hub for the
		// bench's own bookkeeping.
		id, err := requestIDOf(m.Data())
		if err != nil {
			fail.report(err)
			return
		}
		i, _ := strconv.Atoi(id)
		sent, ok := t.sentTime(i)
		if !ok {
			fail.report(fmt.Errorf("event for unknown request %q", id))
			return
		}
		if sl != nil {
			now := time.Now().UnixNano()
			sl.mark(i, stSent, sent.UnixNano())
			sl.mark(i, stReceived, now)
			if md, err := m.Metadata(); err == nil {
				sl.mark(i, stEvStored, md.Timestamp.UnixNano())
			}
		}
		t.receive(i, sent)
	})
	if err != nil {
		return phaseResult{}, err
	}
	defer cc.Stop()

	t.begin()
	go func() {
		if err := publishCommands(ctx, ingress.Publisher(), t, fail, rate); err != nil && ctx.Err() == nil {
			fail.report(err)
		}
	}()
	wctx, stopWatch := context.WithCancel(ctx)
	go watchStall(wctx, t, ingress.JetStream(), name)
	res, err := finish(ctx, t, name, fail)
	stopWatch()
	if sl != nil {
		var gs debug.GCStats
		debug.ReadGCStats(&gs)
		var gcs []gcEvent
		for k := range gs.PauseEnd {
			gcs = append(gcs, gcEvent{end: gs.PauseEnd[k], pause: gs.Pause[k]})
		}
		slices.Reverse(gcs)
		fmt.Fprintf(os.Stderr, "%s:\n", name)
		sl.report(os.Stderr, gcs)
	}
	if err != nil || res.TimedOut {
		return res, err
	}
	return res, checkDrained(ctx, ingress.JetStream())
}

// startWorker runs a Router whose handler answers each test command with a
// test-completed event, as the manager does; the returned func stops it.
func startWorker(ctx context.Context, b *bus.Bus, concurrency int) (stop func(), err error) {
	r, err := b.NewRouter()
	if err != nil {
		return nil, err
	}
	route := bus.Route{
		Name: "busbench-test", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>",
		Durable: "busbench-test", Concurrency: concurrency,
		Produces: []string{contracts.SubjectTestCompleted + ".>"}, Handler: completeTest,
	}
	if err := r.Handle(route); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(runCtx) }()
	stop = func() { cancel(); <-done }
	select {
	case <-r.Running():
		return stop, nil
	case <-done:
		cancel()
		return nil, errors.New("router stopped before it ran")
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}

// requestIDOf finds the requestId of a test.completed body: the string
// after its name, when it has no escapes (the bench's ids are digits), else
// by decoding the body.
func requestIDOf(body []byte) (string, error) {
	const name = `"requestId":"`
	if at := bytes.Index(body, []byte(name)); at >= 0 {
		rest := body[at+len(name):]
		if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end]), nil
		}
	}
	var ev struct {
		RequestID string `json:"requestId"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return "", fmt.Errorf("decode event: %w", err)
	}
	return ev.RequestID, nil
}

// completeTest is the benchmark's handler: decode the command, publish its
// completion (deduplicated on the command's id), ack by returning nil.
func completeTest(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	// Stamped only under -stages, so the measured handler costs nothing more.
	sl := stages.Load()
	var hs int64
	if sl != nil {
		hs = time.Now().UnixNano()
	}
	req, err := bus.Decode[contracts.TestRequested](m)
	if err != nil {
		return err
	}
	if sl != nil {
		i, _ := strconv.Atoi(req.RequestID)
		sl.mark(i, stHandlerStart, hs)
		sl.mark(i, stHandlerPub, time.Now().UnixNano())
		defer func() { sl.mark(i, stHandlerEnd, time.Now().UnixNano()) }()
	}
	_, err = out.Publish(ctx, bus.Event{
		ID:          "completed-" + m.ID,
		Subject:     contracts.Subject(contracts.SubjectTestCompleted, req.TenantID, req.IntegrationID),
		TenantID:    req.TenantID,
		DataSubject: req.IntegrationID,
		Data: contracts.TestCompleted{
			RequestID: req.RequestID, TenantID: req.TenantID, IntegrationID: req.IntegrationID,
			Success: true, CompletedAt: time.Now().UTC(),
		},
	})
	return err
}

// publishCommands publishes t's commands with PublishAsync, keeping t's
// window; every publish ack is checked and a failed one reported to fail.
func publishCommands(ctx context.Context, p *bus.Publisher, t *tracker, fail *errSink, rate float64) error {
	acks := make(chan jetstream.PubAckFuture, 1024)
	defer close(acks)
	go awaitAcks(ctx, acks, fail)
	start := time.Now()
	for i := 0; i < t.n; i++ {
		if err := pace(ctx, start, i, rate); err != nil {
			return err
		}
		if _, err := t.acquire(ctx, i); err != nil {
			return err
		}
		integration := "i" + strconv.Itoa(i%benchIntegrations)
		ev := bus.Event{
			Subject:     contracts.Subject(contracts.SubjectTestRequested, benchTenant, integration),
			TenantID:    benchTenant,
			DataSubject: integration,
			Data:        contracts.TestRequested{RequestID: strconv.Itoa(i), TenantID: benchTenant, IntegrationID: integration},
		}
		fut, err := p.PublishAsync(ctx, ev)
		for errors.Is(err, jetstream.ErrTooManyStalledMsgs) && ctx.Err() == nil {
			fut, err = p.PublishAsync(ctx, ev)
		}
		if err != nil {
			return fmt.Errorf("publish command %d: %w", i, err)
		}
		acks <- fut
	}
	return nil
}

// awaitAcks reports the first publish the stream did not store, then only
// drains acks so the publisher never blocks on it.
func awaitAcks(ctx context.Context, acks <-chan jetstream.PubAckFuture, fail *errSink) {
	for fut := range acks {
		select {
		case <-fut.Ok():
		case err := <-fut.Err():
			fail.report(fmt.Errorf("publish ack of %s: %w", fut.Msg().Subject, err))
			for range acks {
			}
			return
		case <-ctx.Done():
			for range acks {
			}
			return
		}
	}
}

// checkDrained confirms the run kept the bus's promises: every command acked
// (the work-queue stream empties) and no dead letters.
func checkDrained(ctx context.Context, js jetstream.JetStream) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmds, err := streamMsgs(ctx, js, bus.StreamCommands)
		if err != nil {
			return err
		}
		dlq, err := streamMsgs(ctx, js, bus.StreamDLQ)
		if err != nil {
			return err
		}
		switch {
		case dlq > 0:
			return fmt.Errorf("%d dead letters", dlq)
		case cmds == 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%d commands still unacked", cmds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func streamMsgs(ctx context.Context, js jetstream.JetStream, name string) (uint64, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// watchStall reports on stderr when nothing was received for two seconds
// while round trips are in flight, with the worker consumer's and the
// command stream's state: stored commands not delivered and no pull waiting
// would be the consumer's client not asking for more; commands handled but
// events not received, the event consumer.
func watchStall(ctx context.Context, t *tracker, js jetstream.JetStream, name string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		last, got := t.lastSeen, len(t.latency)
		t.mu.Unlock()
		if last.IsZero() || time.Since(last) < 2*time.Second || got >= int(t.sent.Load()) {
			continue
		}
		c, err := js.Consumer(ctx, bus.StreamCommands, "busbench-test")
		if err != nil {
			continue
		}
		ci, err := c.Info(ctx)
		if err != nil {
			continue
		}
		cmds, _ := streamMsgs(ctx, js, bus.StreamCommands)
		fmt.Fprintf(os.Stderr, "%s: stalled %.1fs, %d sent, %d received; worker consumer: %d stored not delivered, %d pulls waiting, %d unacked, %d redelivered; command stream holds %d\n",
			name, time.Since(last).Seconds(), t.sent.Load(), got, ci.NumPending, ci.NumWaiting, ci.NumAckPending, ci.NumRedelivered, cmds)
	}
}
