package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
)

// The raw phase's stream is shaped like INTHUB_COMMANDS (work queue, file
// storage, dedupe window) under its own name, so its consumer cannot overlap
// the hub's on a work-queue stream.
const (
	rawStream  = "BENCH_RAW"
	rawSubject = "bench.raw.command"
	// rawPayload is about the size of a hub command's body and headers.
	rawPayload = 256
)

// errSink keeps the first error reported by a callback.
type errSink struct {
	once sync.Once
	ch   chan error
}

func newErrSink() *errSink { return &errSink{ch: make(chan error, 1)} }

func (s *errSink) report(err error) { s.once.Do(func() { s.ch <- err }) }

// rawPhase publishes with js.PublishAsync and consumes with a durable pull
// consumer that acks each message explicitly (Ack, not DoubleAck).
//
// rate > 0 paces the publishes at rate per second (the raw latency at the
// hub's half-peak pace, so the hub's p99 there can be told from the
// machine's); 0 publishes as fast as the in-flight window allows.
func rawPhase(ctx context.Context, url string, o options, name string, n int, rate float64) (phaseResult, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	fail := newErrSink()
	nc, err := nats.Connect(url, nats.Name("busbench-raw"))
	if err != nil {
		return phaseResult{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
		fail.report(fmt.Errorf("publish ack: %w", err))
	}))
	if err != nil {
		return phaseResult{}, err
	}
	cfg := bus.DefaultConfig()
	sc := bus.StreamConfigs(cfg)[0]
	sc.Name, sc.Subjects, sc.Description = rawStream, []string{"bench.raw.>"}, "busbench raw baseline, shaped like "+bus.StreamCommands
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return phaseResult{}, err
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), rawStream)
	cons, err := js.CreateOrUpdateConsumer(ctx, rawStream, jetstream.ConsumerConfig{
		Durable:    "busbench-raw",
		AckPolicy:  jetstream.AckExplicitPolicy,
		AckWait:    cfg.AckWait,
		MaxDeliver: cfg.MaxDeliver + 1,
	})
	if err != nil {
		return phaseResult{}, err
	}

	t := newTracker(n, o.inflight)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		d := m.Data()
		if len(d) < 16 {
			fail.report(fmt.Errorf("short payload of %d bytes", len(d)))
			return
		}
		i := int(binary.BigEndian.Uint64(d[0:8]))
		sent := time.Unix(0, int64(binary.BigEndian.Uint64(d[8:16])))
		if err := m.Ack(); err != nil {
			fail.report(fmt.Errorf("ack: %w", err))
			return
		}
		t.receive(i, sent)
	})
	if err != nil {
		return phaseResult{}, err
	}
	defer cc.Stop()

	t.begin()
	go func() {
		if err := publishRaw(ctx, js, t, rate); err != nil && ctx.Err() == nil {
			fail.report(err)
		}
	}()
	return finish(ctx, t, name, fail)
}

// publishRaw publishes t's messages, each stamped with its index and send time.
func publishRaw(ctx context.Context, js jetstream.JetStream, t *tracker, rate float64) error {
	start := time.Now()
	for i := 0; i < t.n; i++ {
		if err := pace(ctx, start, i, rate); err != nil {
			return err
		}
		sent, err := t.acquire(ctx, i)
		if err != nil {
			return err
		}
		payload := make([]byte, rawPayload)
		binary.BigEndian.PutUint64(payload[0:8], uint64(i))
		binary.BigEndian.PutUint64(payload[8:16], uint64(sent.UnixNano()))
		id := "raw-" + strconv.Itoa(i)
		for {
			_, err = js.PublishAsync(rawSubject, payload, jetstream.WithMsgID(id), jetstream.WithStallWait(time.Second))
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
	}
	return nil
}

// finish waits for the phase to complete, fail or time out.
func finish(ctx context.Context, t *tracker, name string, fail *errSink) (phaseResult, error) {
	select {
	case <-t.done:
		return t.result(name, false), nil
	case err := <-fail.ch:
		return phaseResult{}, err
	case <-ctx.Done():
		return t.result(name, true), nil
	}
}

// pace waits until message i of an open-loop run at rate per second is due
// (start + i/rate), whatever the answers do, so latency is measured at a
// fixed offered load; rate 0 does not wait.
func pace(ctx context.Context, start time.Time, i int, rate float64) error {
	if rate <= 0 {
		return nil
	}
	wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second))))
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
