package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// subscriber is a Watermill subscriber over one durable JetStream consumer.
//
// It replaces watermill-nats' beta jetstream subscriber, which closes its
// output channel while a consume callback may still send on it (a "send on
// closed channel" panic at shutdown) and handles one message at a time with
// a synchronous double ack. Here each worker goroutine owns its sends, and
// the output channel is closed only after every worker has returned.
type subscriber struct {
	js      jetstream.JetStream
	route   Route
	cfg     Config
	logger  *slog.Logger
	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

var _ message.Subscriber = (*subscriber)(nil)

// pullHeartbeat is the idle heartbeat every pull request of the hub asks
// for (PullOptions).
const pullHeartbeat = time.Second

// PullOptions are the options of every pull iterator the hub runs
// (Consumer.Messages): at most max messages asked at a time, and idle
// heartbeats every pullHeartbeat.
//
// The server may drop a pull request without a reply (a full waiting
// queue answers a request that asks for heartbeats with silence), and the
// iterator, counting it as asked, then waited for nothing until its
// missing-heartbeat check fired at twice the heartbeat interval: 30 s by
// default, seen as 30-s stalls in busbench with commands stored and no
// pull waiting, and as a manager outbox that did not catch up within 20 s
// in a test. With idle heartbeats every pullHeartbeat, a lost pull is
// noticed (Next returns ErrNoHeartbeat) and asked again in about 2 s; an
// idle consumer costs one heartbeat a second.
func PullOptions(max int) []jetstream.PullMessagesOpt {
	return []jetstream.PullMessagesOpt{jetstream.PullMaxMessages(max), jetstream.PullHeartbeat(pullHeartbeat)}
}

func newSubscriber(js jetstream.JetStream, route Route, cfg Config, logger *slog.Logger) *subscriber {
	return &subscriber{js: js, route: route, cfg: cfg, logger: logger, closing: make(chan struct{})}
}

// Subscribe starts route.Concurrency workers pulling from the durable
// consumer filtered on topic; messages are handed out one per worker until
// acked or nacked.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	consumer, err := s.consumer(ctx, topic)
	if err != nil {
		return nil, err
	}
	n := max(s.route.Concurrency, 1)
	// Buffer no more than the workers take: the server starts a message's
	// AckWait when it delivers it, so a message waiting in a client buffer
	// behind slow handlers could be redelivered while still unhandled.
	it, err := consumer.Messages(PullOptions(n)...)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", s.route.Durable, err)
	}
	out := make(chan *message.Message)
	var workers sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < n; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			s.work(ctx, it, out, stop)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.closing:
		}
		close(stop)
		it.Stop()
		workers.Wait()
		close(out)
	}()
	return out, nil
}

func (s *subscriber) consumer(ctx context.Context, topic string) (jetstream.Consumer, error) {
	policy := jetstream.DeliverAllPolicy
	if s.route.DeliverNew {
		policy = jetstream.DeliverNewPolicy
	}
	// The server's MaxDeliver is one above ours: the dead-letter middleware
	// moves a message at our limit, and the spare delivery catches a worker
	// killed during the last one, so nothing stays stuck unacked.
	want := jetstream.ConsumerConfig{
		Durable:       s.route.Durable,
		FilterSubject: topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		MaxDeliver:    s.cfg.MaxDeliver + 1,
		MaxAckPending: max(1000, 4*s.route.Concurrency),
		DeliverPolicy: policy,
	}
	// Replicas start with the same definition: reuse the consumer when it
	// already matches instead of updating it from every replica at once.
	if c, err := s.js.Consumer(ctx, s.route.Stream, s.route.Durable); err == nil {
		have := c.CachedInfo().Config
		if have.FilterSubject == want.FilterSubject && have.AckWait == want.AckWait && have.MaxDeliver == want.MaxDeliver &&
			have.MaxAckPending == want.MaxAckPending && have.DeliverPolicy == want.DeliverPolicy {
			return c, nil
		}
	}
	c, err := s.js.CreateOrUpdateConsumer(ctx, s.route.Stream, want)
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", s.route.Durable, s.route.Stream, err)
	}
	return c, nil
}

// work hands messages to the router one at a time and settles each.
func (s *subscriber) work(ctx context.Context, it jetstream.MessagesContext, out chan<- *message.Message, stop <-chan struct{}) {
	// One settle timer per worker, reset per message, rather than one
	// allocated per message.
	settleTimer := time.NewTimer(time.Hour)
	settleTimer.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				continue
			}
		}
		// From now until the handler settles it, the message is kept with
		// heartbeats: the server gives it to another worker only once they
		// stop, that is when this one died (or its handler overran).
		meta, metaErr := msg.Metadata()
		if metaErr != nil {
			meta = nil
		}
		beating := s.heartbeat(msg, s.mayHaveWaited(meta))
		wm := toWatermill(msg, meta)
		// A message taken is finished even during shutdown (the router waits
		// for its handlers), so the handler's context does not end with ctx;
		// the handler timeout bounds it.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.HandlerTimeout)
		wm.SetContext(mctx)
		select {
		case out <- wm:
		case <-stop:
			beating()
			cancel()
			// Not handled: give it back now rather than after AckWait.
			_ = msg.Nak()
			return
		}
		s.settle(msg, wm, beating, settleTimer)
		cancel()
	}
}

// heartbeat tells the server every AckWait/4 that msg is in progress, so a
// handler may run longer than AckWait (up to the handler timeout) while a
// killed worker's message is redelivered within AckWait. It stops when the
// returned function is called, or one AckWait after the handler timeout,
// when a handler that ignores its deadline gives up its message.
//
// The first beat goes at once only when beatNow says the message may have
// waited in the client's buffer (its AckWait running since delivery);
// otherwise it is due AckWait/4 from now, and most handlers are done long
// before: that spares nearly every message a server round trip. A timer
// (no goroutine, no ticker) beats and re-arms itself.
func (s *subscriber) heartbeat(msg jetstream.Msg, beatNow bool) (stop func()) {
	if beatNow {
		_ = msg.InProgress()
	}
	every := s.cfg.AckWait / 4
	limit := time.Now().Add(s.cfg.HandlerTimeout + s.cfg.AckWait)
	var (
		mu      sync.Mutex
		stopped bool
		timer   *time.Timer
	)
	// Locked until timer is set, so the callback always sees it.
	mu.Lock()
	defer mu.Unlock()
	timer = time.AfterFunc(every, func() {
		// Held while beating, so no beat goes after stop returns (an
		// in-progress after the ack would be noise for the server).
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if time.Now().After(limit) {
			s.logger.Warn("handler overran its timeout; its message will be redelivered", "subject", msg.Subject(), "handler_timeout", s.cfg.HandlerTimeout.String())
			stopped = true
			return
		}
		if err := msg.InProgress(); err != nil {
			s.logger.Debug("heartbeat failed", "subject", msg.Subject(), "error", err.Error())
		}
		timer.Reset(every)
	})
	return func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		mu.Unlock()
	}
}

// mayHaveWaited says whether a message taken now may have been delivered
// AckWait/4 or more ago, so its first heartbeat cannot wait another
// AckWait/4. Delivery comes after the stream stored the message, so a
// message stored less than AckWait/4 ago is safe; a redelivery, one
// without metadata, or one stamped in the future (the server's clock
// ahead of ours) is not presumed to be.
func (s *subscriber) mayHaveWaited(meta *jetstream.MsgMetadata) bool {
	if meta == nil || meta.NumDelivered > 1 {
		return true
	}
	age := time.Since(meta.Timestamp)
	return age < 0 || age >= s.cfg.AckWait/4
}

// settle acks or nacks msg as the handler decided, once its heartbeats
// have stopped. A nack asks for a delayed redelivery that grows with the
// delivery count. A handler that has not decided one AckWait after its
// timeout leaves the message to be redelivered.
func (s *subscriber) settle(msg jetstream.Msg, wm *message.Message, beating func(), timer *time.Timer) {
	timer.Reset(s.cfg.HandlerTimeout + s.cfg.AckWait)
	defer timer.Stop()
	defer beating()
	select {
	case <-wm.Acked():
		beating()
		if err := msg.Ack(); err != nil {
			s.logger.Warn("ack failed; the message will be redelivered", "subject", msg.Subject(), "error", err.Error())
		}
	case <-wm.Nacked():
		beating()
		delay := s.cfg.RedeliveryDelay
		if meta, err := msg.Metadata(); err == nil {
			delay = backoffDelay{first: s.cfg.RedeliveryDelay, max: s.cfg.MaxRedeliveryDelay}.WaitTime(meta.NumDelivered)
		}
		if err := msg.NakWithDelay(delay); err != nil {
			s.logger.Warn("nak failed; the message will be redelivered after ack wait", "subject", msg.Subject(), "error", err.Error())
		}
	case <-timer.C:
		// Neither: without heartbeats the server redelivers after AckWait.
	}
}

// Close stops every subscription and waits for them.
func (s *subscriber) Close() error {
	s.once.Do(func() { close(s.closing) })
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(15 * time.Second):
		return errors.New("bus: subscriber did not stop in 15s")
	}
}
