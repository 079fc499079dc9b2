package bus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestPublishRetriesALostAck: a publish whose ack does not come gives up
// each attempt after PublishTimeout and tries again with the same
// Nats-Msg-Id, instead of holding its caller until the caller's deadline
// (a handler's 45 s). The "stream" here is a plain subscriber that answers
// as JetStream would, or not at all.
func TestPublishRetriesALostAck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// ackOn is the attempt the fake stream answers (0: never).
		ackOn        int
		wantErr      bool
		wantAttempts int
	}{
		{name: "an ack that never comes ends after the attempts, not at the caller's deadline", ackOn: 0, wantErr: true, wantAttempts: 3},
		{name: "a lost ack is retried with the same message id and the next ack counts", ackOn: 2, wantAttempts: 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := natstest.Start(t)
			cfg := natstest.Config(s, "lost-ack")
			cfg.PublishTimeout = 300 * time.Millisecond
			cfg.PublishAttempts = 3
			b := natstest.OpenConfig(t, cfg)
			subject := "lostack.t1.i" + string(rune('0'+i))
			var mu sync.Mutex
			var ids []string
			sub, err := b.Conn().Subscribe(subject, func(m *nats.Msg) {
				mu.Lock()
				ids = append(ids, m.Header.Get(nats.MsgIdHdr))
				n := len(ids)
				mu.Unlock()
				if n == tc.ackOn {
					_ = m.Respond([]byte(`{"stream":"FAKE","seq":1,"duplicate":true}`))
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sub.Unsubscribe() })
			if err := b.Conn().Flush(); err != nil {
				t.Fatal(err)
			}
			// The caller's deadline is far away: the bound must come from
			// the publish itself.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			ack, err := b.Publisher().Publish(ctx, bus.Event{ID: "evt-lost", Subject: subject, Data: map[string]string{}})
			took := time.Since(start)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Publish = %+v, %v; want error %v", ack, err, tc.wantErr)
			}
			// attempts × timeout plus the short waits between them.
			if bound := time.Duration(tc.wantAttempts)*cfg.PublishTimeout + time.Second; took > bound {
				t.Errorf("Publish took %s, want at most %s", took, bound)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(ids) != tc.wantAttempts {
				t.Errorf("stream saw %d attempts, want %d", len(ids), tc.wantAttempts)
			}
			for _, id := range ids {
				if id != "evt-lost" {
					t.Errorf("attempt with Nats-Msg-Id %q, want evt-lost on every attempt", id)
				}
			}
			if tc.wantErr && !strings.Contains(err.Error(), "after 3 attempts") {
				t.Errorf("error %q does not say how often it tried", err)
			}
			t.Logf("%d attempts in %s", len(ids), took)
		})
	}
}

// shortAckConfig is a bus whose AckWait is short and whose handler timeout
// is far above it: only heartbeats keep a long handler's message.
func shortAckConfig(t *testing.T, name string) (bus.Config, func(string) *bus.Bus) {
	s := natstest.Start(t)
	cfg := natstest.Config(s, name)
	cfg.AckWait = 2 * time.Second
	cfg.HandlerTimeout = 30 * time.Second
	return cfg, func(n string) *bus.Bus { c := cfg; c.Name = n; return natstest.OpenConfig(t, c) }
}

// TestKilledWorkersMessageMovesOn: a worker killed in the middle of a
// handler (its connection gone, no ack) holds its message no longer than
// AckWait: another replica gets it in seconds.
func TestKilledWorkersMessageMovesOn(t *testing.T) {
	t.Parallel()
	cfg, open := shortAckConfig(t, "killed")
	route := func(h bus.HandlerFunc) bus.Route {
		return bus.Route{Name: "work", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "work", Handler: h}
	}
	doomed := open("doomed")
	taken := make(chan struct{})
	release := make(chan struct{})
	ra, err := doomed.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	if err := ra.Handle(route(func(context.Context, *bus.Message, *bus.Producer) error {
		once.Do(func() { close(taken) })
		<-release
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	runRouter(t, ra)
	t.Cleanup(func() { close(release) })
	if _, err := doomed.Publisher().Publish(context.Background(), bus.Event{
		Subject: contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"), Data: contracts.TestRequested{RequestID: "r1"},
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-taken:
	case <-time.After(10 * time.Second):
		t.Fatal("the first worker never got the message")
	}

	survivor := open("survivor")
	got := make(chan *bus.Message, 1)
	rb, err := survivor.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Handle(route(func(_ context.Context, m *bus.Message, _ *bus.Producer) error {
		got <- m
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	runRouter(t, rb)
	// Let the doomed worker hold the message beyond AckWait first: its
	// heartbeats must keep it from the survivor while it lives.
	time.Sleep(cfg.AckWait + cfg.AckWait/2)
	select {
	case m := <-got:
		t.Fatalf("the survivor got the message (delivery %d) while its worker was alive", m.Delivered)
	default:
	}
	killed := time.Now()
	doomed.Conn().Close() // as kill -9 would: no ack, no nak, no drain
	select {
	case m := <-got:
		took := time.Since(killed)
		t.Logf("a killed worker's message ran elsewhere %s after the kill (AckWait %s)", took.Round(time.Millisecond), cfg.AckWait)
		if took > cfg.AckWait+time.Second {
			t.Errorf("redelivered %s after the kill, want within AckWait (%s)", took, cfg.AckWait)
		}
		if m.Delivered != 2 {
			t.Errorf("delivery %d, want 2", m.Delivered)
		}
	case <-time.After(4 * cfg.AckWait):
		t.Fatal("the killed worker's message never reached the survivor")
	}
}

// TestLongHandlerKeepsItsMessage: a handler that runs well beyond AckWait
// (within its timeout) keeps its message through heartbeats: nobody else
// runs it meanwhile, and it is acked once.
func TestLongHandlerKeepsItsMessage(t *testing.T) {
	t.Parallel()
	cfg, open := shortAckConfig(t, "long")
	var calls atomic.Int64
	done := make(chan struct{}, 2)
	for _, name := range []string{"worker-a", "worker-b"} {
		b := open(name)
		r, err := b.NewRouter()
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Handle(bus.Route{Name: "long", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>", Durable: "long", Concurrency: 2,
			Handler: func(context.Context, *bus.Message, *bus.Producer) error {
				calls.Add(1)
				time.Sleep(2*cfg.AckWait + cfg.AckWait/2)
				done <- struct{}{}
				return nil
			}}); err != nil {
			t.Fatal(err)
		}
		runRouter(t, r)
	}
	pub := open("publisher")
	if _, err := pub.Publisher().Publish(context.Background(), bus.Event{
		Subject: contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"), Data: contracts.TestRequested{RequestID: "r1"},
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(4 * cfg.AckWait):
		t.Fatal("handler did not finish")
	}
	waitFor(t, func() bool {
		st, _ := pub.JetStream().Stream(context.Background(), bus.StreamCommands)
		info, _ := st.Info(context.Background())
		return info.State.Msgs == 0
	})
	// Long enough for a redelivery that was going to happen to show.
	time.Sleep(cfg.AckWait)
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want once: the message was redelivered while its handler ran", n)
	}
}

// TestDefaultsMoveAKilledWorkersMessageInSeconds: the documented defaults
// keep AckWait short (a killed worker's commands run elsewhere in under
// 10 s) and let a handler run longer than it.
func TestDefaultsMoveAKilledWorkersMessageInSeconds(t *testing.T) {
	t.Parallel()
	d := bus.DefaultConfig()
	if d.AckWait >= 10*time.Second || d.AckWait < bus.MinAckWait {
		t.Errorf("default AckWait %s: want from %s to under 10s", d.AckWait, bus.MinAckWait)
	}
	if d.HandlerTimeout <= d.AckWait {
		t.Errorf("default handler timeout %s not above AckWait %s: heartbeats are what keep a long handler's message", d.HandlerTimeout, d.AckWait)
	}
	if worst := time.Duration(d.PublishAttempts) * d.PublishTimeout; worst >= d.HandlerTimeout {
		t.Errorf("a publish may take %s, not within the handler timeout %s", worst, d.HandlerTimeout)
	}
	cases := []struct {
		name string
		edit func(*bus.Config)
		ok   bool
	}{
		{name: "defaults", edit: func(*bus.Config) {}, ok: true},
		{name: "handler timeout above ack wait", edit: func(c *bus.Config) { c.AckWait, c.HandlerTimeout = 5*time.Second, time.Minute }, ok: true},
		{name: "ack wait below the minimum", edit: func(c *bus.Config) { c.AckWait = 500 * time.Millisecond }},
		{name: "negative publish timeout", edit: func(c *bus.Config) { c.PublishTimeout = -time.Second }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := bus.DefaultConfig()
			tc.edit(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestConsumerResumesWhenTheServerDroppedItsPull: the server may drop a
// pull request without a reply (here: its waiting queue is full, and a
// request that asks for heartbeats gets no 409), and a stalled busbench
// run showed the same state, commands stored, none delivered, no pull
// waiting on the server. The router's consumer then believed it had asked
// and waited. It must notice the missing heartbeats and ask again within
// seconds, not when its request would have expired (30 s).
func TestConsumerResumesWhenTheServerDroppedItsPull(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	cfg := natstest.Config(s, "dropped-pull")
	b := natstest.OpenConfig(t, cfg)
	nc, js := natstest.Connect(t, s)
	ctx := context.Background()
	subject := contracts.SubjectTestRequested + ".>"
	// The durable as the router defines it (so the router reuses it), with
	// room for one waiting pull.
	if _, err := js.CreateOrUpdateConsumer(ctx, bus.StreamCommands, jetstream.ConsumerConfig{
		Durable: "dropped", FilterSubject: subject, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver + 1, MaxAckPending: 1000,
		DeliverPolicy: jetstream.DeliverAllPolicy, MaxWaiting: 1,
	}); err != nil {
		t.Fatal(err)
	}
	free := occupyPull(t, nc, bus.StreamCommands, "dropped")
	got := make(chan *bus.Message, 1)
	r, err := b.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(bus.Route{Name: "dropped", Stream: bus.StreamCommands, Subject: subject, Durable: "dropped",
		Handler: func(_ context.Context, m *bus.Message, _ *bus.Producer) error { got <- m; return nil }}); err != nil {
		t.Fatal(err)
	}
	runRouter(t, r)
	free()
	start := time.Now()
	if _, err := b.Publisher().Publish(ctx, bus.Event{
		Subject: contracts.Subject(contracts.SubjectTestRequested, "t1", "i1"), Data: contracts.TestRequested{RequestID: "r1"},
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Logf("handled %s after the publish (delivery %d)", time.Since(start).Round(time.Millisecond), m.Delivered)
	case <-time.After(10 * time.Second):
		t.Fatal("the router's consumer did not ask again within 10 s of losing its pull")
	}
}

// TestPullOptionsAskAgainAfterADroppedPull: an iterator with PullOptions
// (every pull loop of the hub: the router's consumers, the outboxes, the
// operators' reads) notices a pull the server dropped without a reply and
// asks again, instead of waiting for nothing for 30 s.
func TestPullOptionsAskAgainAfterADroppedPull(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	nc, js := natstest.Connect(t, s)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PULLS", Subjects: []string{"pulls.>"}}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "PULLS", jetstream.ConsumerConfig{
		Durable: "dropped", AckPolicy: jetstream.AckExplicitPolicy, MaxWaiting: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	free := occupyPull(t, nc, "PULLS", "dropped")
	it, err := cons.Messages(bus.PullOptions(1)...)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	got := make(chan jetstream.Msg, 1)
	go func() {
		for {
			m, err := it.Next()
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if err == nil {
				got <- m
				return
			}
		}
	}()
	free()
	start := time.Now()
	if _, err := js.Publish(ctx, "pulls.one", []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
		t.Logf("delivered %s after the publish", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the iterator did not ask again within 10 s of losing its pull")
	}
}

// occupyPull takes the only waiting-pull place of a consumer made with
// MaxWaiting 1 by another client's long pull, so the next pull asked is
// dropped by the server without a reply. free waits for the pull under
// test to have met the full queue, then lets the place go (the other
// client goes, and its request with it).
func occupyPull(t *testing.T, nc *nats.Conn, stream, durable string) (free func()) {
	t.Helper()
	inbox := nc.NewInbox()
	other := natstest.SubscribeSync(t, nc, inbox)
	if err := nc.PublishRequest("$JS.API.CONSUMER.MSG.NEXT."+stream+"."+durable, inbox, []byte(`{"batch":1,"expires":120000000000}`)); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		time.Sleep(500 * time.Millisecond)
		if err := other.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}
