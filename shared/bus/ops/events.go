package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
)

// Query selects events of INTHUB_EVENTS: a subject filter, a start (Since
// or FromSeq, else the oldest event kept), an optional end (ToSeq, Until)
// and a page size.
type Query struct {
	// Subject is a filter over the event subjects (see eventFilters); empty
	// is every event.
	Subject string
	// TenantID narrows the filter to one tenant's subjects.
	TenantID string
	// Since starts at the first event stored at or after this time.
	Since time.Time
	// FromSeq starts at this stream sequence (exclusive with Since).
	FromSeq uint64
	// ToSeq and Until end the selection (inclusive); zero is open.
	ToSeq uint64
	Until time.Time
	// Limit is the page size: 0 is DefaultLimit, at most MaxLimit.
	Limit int
}

// Page is one page of a query.
type Page struct {
	Items []Event `json:"items"`
	// NextSeq, when set, is the FromSeq of the next page: the selection has
	// more events than the page held, or the time budget ran out.
	NextSeq uint64 `json:"nextSeq,omitempty"`
	// LastSeq is the stream's last sequence when the query began; events
	// after it are not part of this page. A reader that pages through a
	// range passes it as ToSeq of later pages, so new events do not make the
	// range grow while it reads.
	LastSeq uint64 `json:"lastSeq"`
}

// Events returns one page of the events q selects, in stream order. A
// filter that starts with inthub.replay. reads replayed copies.
func (s *Service) Events(ctx context.Context, q Query) (Page, error) {
	page := Page{Items: []Event{}}
	next, last, err := s.scan(ctx, q, true, func(ev Event) error {
		page.Items = append(page.Items, ev)
		return nil
	})
	page.NextSeq, page.LastSeq = next, last
	return page, err
}

func (q Query) check(limit int) (Query, error) {
	var err error
	if q.Limit, err = checkLimit(q.Limit, DefaultLimit, limit); err != nil {
		return q, err
	}
	switch {
	case !q.Since.IsZero() && q.FromSeq > 0:
		return q, invalid("since", "and fromSeq exclude each other: start at a time or at a sequence")
	case q.ToSeq > 0 && q.FromSeq > q.ToSeq:
		return q, invalid("toSeq", "(%d) is before fromSeq (%d)", q.ToSeq, q.FromSeq)
	case !q.Until.IsZero() && !q.Since.IsZero() && q.Until.Before(q.Since):
		return q, invalid("until", "(%s) is before since (%s)", q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	}
	return q, nil
}

// scan calls fn with each event q selects, up to its limit, within the time
// budget. It returns the sequence a next page starts at (0: nothing more)
// and the stream's last sequence when it began.
func (s *Service) scan(ctx context.Context, q Query, replayed bool, fn func(Event) error) (next, last uint64, err error) {
	if q, err = q.check(MaxLimit); err != nil {
		return 0, 0, err
	}
	filters, err := eventFilters(q.Subject, q.TenantID, replayed)
	if err != nil {
		return 0, 0, err
	}
	st, err := s.js.Stream(ctx, bus.StreamEvents)
	if err != nil {
		return 0, 0, fmt.Errorf("stream %s: %w", bus.StreamEvents, err)
	}
	last = st.CachedInfo().State.LastSeq
	end := last
	if q.ToSeq > 0 && q.ToSeq < end {
		end = q.ToSeq
	}
	if end == 0 || q.FromSeq > end {
		return 0, last, nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters, InactiveThreshold: consumerInactivity}
	switch {
	case q.FromSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.FromSeq
	case !q.Since.IsZero():
		since := q.Since
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	n := 0
	var lastSeen uint64
	err = s.read(ctx, bus.StreamEvents, cfg, q.Limit, func(msg jetstream.Msg, meta *jetstream.MsgMetadata) (bool, error) {
		seq := meta.Sequence.Stream
		if seq > end || (!q.Until.IsZero() && meta.Timestamp.After(q.Until)) {
			return true, nil
		}
		if err := fn(eventOf(msg, meta)); err != nil {
			return true, err
		}
		n, lastSeen = n+1, seq
		switch {
		case meta.NumPending == 0 || seq == end:
			return true, nil
		case n == q.Limit:
			next = seq + 1
			return true, nil
		}
		return false, nil
	})
	var budget *BudgetError
	if errors.As(err, &budget) && lastSeen > 0 {
		return lastSeen + 1, last, nil
	}
	return next, last, err
}

// read runs an ordered consumer with cfg on stream and calls fn with each
// message until fn says it is done, nothing is pending, or the time budget
// ends (a *BudgetError). The consumer is deleted afterwards.
func (s *Service) read(ctx context.Context, stream string, cfg jetstream.OrderedConsumerConfig, batch int,
	fn func(jetstream.Msg, *jetstream.MsgMetadata) (bool, error)) error {
	c, err := s.js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	it, err := c.Messages(bus.PullOptions(max(min(batch, 500), 1))...)
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer s.deleteConsumer(stream, c)
	defer it.Stop()
	if info := c.CachedInfo(); info != nil && info.NumPending == 0 {
		return nil
	}
	bctx, cancel := context.WithTimeout(ctx, s.budget)
	defer cancel()
	for {
		msg, err := it.Next(jetstream.NextContext(bctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if bctx.Err() != nil || errors.Is(err, nats.ErrTimeout) {
				return &BudgetError{Budget: s.budget}
			}
			return fmt.Errorf("read %s: %w", stream, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		done, err := fn(msg, meta)
		if err != nil || done {
			return err
		}
	}
}

func eventOf(msg jetstream.Msg, meta *jetstream.MsgMetadata) Event {
	return Event{
		Stream: meta.Stream, Sequence: meta.Sequence.Stream, Subject: msg.Subject(), Time: meta.Timestamp.UTC(),
		Headers: headerMap(msg.Headers()), Body: bodyOf(msg.Data()),
		header: msg.Headers(), data: msg.Data(),
	}
}

// Replay is a replay request: the events Query selects, republished to
// Target.
type Replay struct {
	Query
	// Target is inthub.replay.<name>; each event is published to
	// <Target>.<original subject>.
	Target string
}

// ReplayResult is what one replay call did.
type ReplayResult struct {
	// Count is how many events were republished.
	Count int `json:"count"`
	// Duplicates is how many of those the stream already held: the same
	// event replayed to the same target inside the dedupe window.
	Duplicates int `json:"duplicates"`
	// NextSeq and LastSeq page through a long range as in Page.
	NextSeq uint64 `json:"nextSeq,omitempty"`
	LastSeq uint64 `json:"lastSeq"`
}

// Replay republishes the events r selects (at most MaxLimit per call; page
// with NextSeq) to r.Target. Each copy keeps its headers except Nats-Msg-Id,
// which becomes replay:<name>:<seq>:<original id> so the dedupe window does
// not drop it as the original while a retried call stores it once, and it
// gains inthub-replayed-from: INTHUB_EVENTS:<seq>.
func (s *Service) Replay(ctx context.Context, r Replay) (ReplayResult, error) {
	var res ReplayResult
	name, err := checkTarget(r.Target)
	if err != nil {
		return res, err
	}
	if r.Since.IsZero() && r.FromSeq == 0 {
		return res, invalid("since", "or fromSeq is required: say where the replay starts")
	}
	if r.Limit == 0 {
		r.Limit = MaxLimit
	}
	res.NextSeq, res.LastSeq, err = s.scan(ctx, r.Query, false, func(ev Event) error {
		dup, err := s.republish(ctx, r.Target, name, ev)
		if err != nil {
			return err
		}
		res.Count++
		if dup {
			res.Duplicates++
		}
		return nil
	})
	return res, err
}

func (s *Service) republish(ctx context.Context, target, name string, ev Event) (bool, error) {
	msg := nats.NewMsg(target + "." + ev.Subject)
	msg.Header = republishHeaders(ev.header, nil)
	seq := strconv.FormatUint(ev.Sequence, 10)
	msg.Header.Set(nats.MsgIdHdr, "replay:"+name+":"+seq+":"+originalID(ev.header))
	msg.Header.Set(HeaderReplayedFrom, ev.Stream+":"+seq)
	msg.Data = ev.data
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(bus.StreamEvents))
	if err != nil {
		return false, fmt.Errorf("republish %s seq %d to %s: %w", ev.Stream, ev.Sequence, msg.Subject, err)
	}
	return ack.Duplicate, nil
}

// TailQuery selects the events a tail follows.
type TailQuery struct {
	Subject  string
	TenantID string
	// AfterSeq resumes after this sequence (an SSE Last-Event-ID); zero
	// starts with the next event published.
	AfterSeq uint64
}

// Tail follows new events as they are stored.
type Tail struct {
	s  *Service
	c  jetstream.Consumer
	it jetstream.MessagesContext
}

// Tail starts following the events q selects. Close it when done.
func (s *Service) Tail(ctx context.Context, q TailQuery) (*Tail, error) {
	filters, err := eventFilters(q.Subject, q.TenantID, true)
	if err != nil {
		return nil, err
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverNewPolicy, InactiveThreshold: consumerInactivity}
	if q.AfterSeq > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.AfterSeq+1
	}
	c, err := s.js.OrderedConsumer(ctx, bus.StreamEvents, cfg)
	if err != nil {
		return nil, fmt.Errorf("tail %s: %w", bus.StreamEvents, err)
	}
	it, err := c.Messages(bus.PullOptions(64)...)
	if err != nil {
		s.deleteConsumer(bus.StreamEvents, c)
		return nil, fmt.Errorf("tail %s: %w", bus.StreamEvents, err)
	}
	return &Tail{s: s, c: c, it: it}, nil
}

// Next waits for the next event until ctx ends (then it returns ctx's error).
func (t *Tail) Next(ctx context.Context) (Event, error) {
	msg, err := t.it.Next(jetstream.NextContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return Event{}, ctx.Err()
		}
		return Event{}, fmt.Errorf("tail %s: %w", bus.StreamEvents, err)
	}
	meta, err := msg.Metadata()
	if err != nil {
		return Event{}, fmt.Errorf("tail %s: %w", bus.StreamEvents, err)
	}
	return eventOf(msg, meta), nil
}

// Close stops the tail and removes its consumer.
func (t *Tail) Close() {
	t.it.Stop()
	t.s.deleteConsumer(bus.StreamEvents, t.c)
}
