package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
)

// DeadLetter is the summary of one message of INTHUB_DLQ.
type DeadLetter struct {
	Sequence        uint64 `json:"sequence"`
	Subject         string `json:"subject"`
	OriginalSubject string `json:"originalSubject"`
	OriginalStream  string `json:"originalStream,omitempty"`
	Reason          string `json:"reason"`
	Handler         string `json:"handler"`
	Deliveries      int    `json:"deliveries"`
	// Time is when the message was dead-lettered.
	Time time.Time `json:"time"`
}

// DeadLetterDetail is one dead letter with its headers and body.
type DeadLetterDetail struct {
	DeadLetter
	Headers map[string]string `json:"headers"`
	Body
}

// DLQQuery selects dead letters.
type DLQQuery struct {
	// Subject filters on the original subject (inthub.dlq. may be left out);
	// empty is every dead letter.
	Subject string
	// TenantID narrows the filter to one tenant's subjects.
	TenantID string
	// After lists from the first dead letter after this sequence.
	After uint64
	// Limit is the page size: 0 is DefaultLimit, at most MaxLimit.
	Limit int
}

// DLQPage is one page of dead letters.
type DLQPage struct {
	Items []DeadLetter `json:"items"`
	// NextAfter, when set, is the After of the next page.
	NextAfter uint64 `json:"nextAfter,omitempty"`
}

// dlqFilters returns the stream filters of q; none means the whole stream,
// including dead letters of subjects this build does not know.
func dlqFilters(subject, tenantID string) ([]string, error) {
	if subject == "" && tenantID == "" {
		return nil, nil
	}
	return dlqScope.filters("subject", subject, tenantID)
}

// DeadLetters lists one page of dead letters, oldest first. It reads
// headers only, so large bodies cost nothing here.
func (s *Service) DeadLetters(ctx context.Context, q DLQQuery) (DLQPage, error) {
	page := DLQPage{Items: []DeadLetter{}}
	limit, err := checkLimit(q.Limit, DefaultLimit, MaxLimit)
	if err != nil {
		return page, err
	}
	filters, err := dlqFilters(q.Subject, q.TenantID)
	if err != nil {
		return page, err
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, HeadersOnly: true, InactiveThreshold: consumerInactivity,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: q.After + 1,
	}
	err = s.read(ctx, bus.StreamDLQ, cfg, limit, func(msg jetstream.Msg, meta *jetstream.MsgMetadata) (bool, error) {
		page.Items = append(page.Items, deadLetterOf(meta.Sequence.Stream, msg.Subject(), msg.Headers(), meta.Timestamp))
		if meta.NumPending == 0 {
			return true, nil
		}
		if len(page.Items) == limit {
			page.NextAfter = meta.Sequence.Stream
			return true, nil
		}
		return false, nil
	})
	var budget *BudgetError
	if errors.As(err, &budget) && len(page.Items) > 0 {
		page.NextAfter = page.Items[len(page.Items)-1].Sequence
		return page, nil
	}
	return page, err
}

func deadLetterOf(seq uint64, subject string, h nats.Header, stored time.Time) DeadLetter {
	d := DeadLetter{
		Sequence: seq, Subject: subject, OriginalSubject: originalSubject(subject, h),
		OriginalStream: h.Get(bus.HeaderDLQStream), Reason: h.Get(bus.HeaderDLQReason), Handler: h.Get(bus.HeaderDLQHandler),
		Time: stored.UTC(),
	}
	d.Deliveries, _ = strconv.Atoi(h.Get(bus.HeaderDLQAttempts))
	if t, err := time.Parse(time.RFC3339Nano, h.Get(bus.HeaderDLQTime)); err == nil {
		d.Time = t.UTC()
	}
	return d
}

// originalSubject is the dead letter's inthub-dlq-original-subject, else its
// subject without the DLQ prefix.
func originalSubject(subject string, h nats.Header) string {
	if s := h.Get(bus.HeaderDLQSubject); s != "" {
		return s
	}
	return strings.TrimPrefix(subject, bus.DLQPrefix+".")
}

// DeadLetter returns one dead letter with its headers and body.
func (s *Service) DeadLetter(ctx context.Context, seq uint64) (DeadLetterDetail, error) {
	raw, err := s.getDeadLetter(ctx, seq)
	if err != nil {
		return DeadLetterDetail{}, err
	}
	return DeadLetterDetail{
		DeadLetter: deadLetterOf(raw.Sequence, raw.Subject, raw.Header, raw.Time),
		Headers:    headerMap(raw.Header), Body: bodyOf(raw.Data),
	}, nil
}

func (s *Service) getDeadLetter(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	if seq == 0 {
		return nil, invalid("seq", "must be a positive stream sequence")
	}
	st, err := s.js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", bus.StreamDLQ, err)
	}
	raw, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s seq %d: %w", bus.StreamDLQ, seq, err)
	}
	return raw, nil
}

// Redriven says where a redriven dead letter went.
type Redriven struct {
	// Sequence is the dead letter's sequence in INTHUB_DLQ (now deleted).
	Sequence uint64 `json:"sequence"`
	// Subject is the original subject it was published to again.
	Subject string `json:"subject"`
	// Stream and StreamSequence are where it is stored now.
	Stream         string `json:"stream"`
	StreamSequence uint64 `json:"streamSequence"`
	// MsgID is its new Nats-Msg-Id.
	MsgID string `json:"msgId"`
}

// Redrive puts dead letter seq back on its original subject with its
// original headers, less the inthub-dlq-* ones, and deletes it from
// INTHUB_DLQ. Its Nats-Msg-Id becomes redrive:<seq>:<original id> (its
// ce-id, else its old Nats-Msg-Id): the old id may still be inside the
// dedupe window, which would drop the
// message silently, while a retried redrive of the same seq is stored once.
// ce-id is kept, so handlers that are idempotent on it stay so. A second
// redrive of seq finds nothing: ErrNotFound.
func (s *Service) Redrive(ctx context.Context, seq uint64) (Redriven, error) {
	raw, err := s.getDeadLetter(ctx, seq)
	if err != nil {
		return Redriven{}, err
	}
	subject := originalSubject(raw.Subject, raw.Header)
	if err := redriveSubject(subject); err != nil {
		return Redriven{}, err
	}
	msg := nats.NewMsg(subject)
	msg.Header = republishHeaders(raw.Header, func(k string) bool { return strings.HasPrefix(strings.ToLower(k), "inthub-dlq-") })
	msg.Header.Set(nats.MsgIdHdr, "redrive:"+strconv.FormatUint(seq, 10)+":"+originalID(raw.Header))
	msg.Data = raw.Data
	var opts []jetstream.PublishOpt
	if stream := raw.Header.Get(bus.HeaderDLQStream); stream != "" {
		opts = append(opts, jetstream.WithExpectStream(stream))
	}
	ack, err := s.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return Redriven{}, fmt.Errorf("redrive %s seq %d to %s: %w", bus.StreamDLQ, seq, subject, err)
	}
	out := Redriven{Sequence: seq, Subject: subject, Stream: ack.Stream, StreamSequence: ack.Sequence, MsgID: msg.Header.Get(nats.MsgIdHdr)}
	if err := s.deleteDeadLetter(ctx, seq); err != nil {
		if errors.Is(err, ErrNotFound) && !ack.Duplicate {
			// Purged while we redrove it: the redrive itself happened.
			return out, nil
		}
		// ErrNotFound with a duplicate: a concurrent redrive of the same seq
		// did the work, and this call's publish was dropped as its copy.
		return Redriven{}, err
	}
	return out, nil
}

// DeleteDeadLetter removes one dead letter for good.
func (s *Service) DeleteDeadLetter(ctx context.Context, seq uint64) error {
	if _, err := s.getDeadLetter(ctx, seq); err != nil {
		return err
	}
	return s.deleteDeadLetter(ctx, seq)
}

func (s *Service) deleteDeadLetter(ctx context.Context, seq uint64) error {
	st, err := s.js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return fmt.Errorf("stream %s: %w", bus.StreamDLQ, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil {
		// The server's answer for a missing sequence is not a typed error:
		// look again.
		if _, gerr := st.GetMsg(ctx, seq); errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("delete %s seq %d: %w", bus.StreamDLQ, seq, err)
	}
	return nil
}

// PurgeQuery selects the dead letters Purge removes. An empty filter never
// means "all": All must say so, alone.
// It is also the body of POST /api/v1/operator/dlq/purge.
type PurgeQuery struct {
	// Subject filters on the original subject, as DLQQuery.Subject.
	Subject string `json:"subject,omitempty"`
	// TenantID narrows the filter to one tenant's subjects.
	TenantID string `json:"tenantId,omitempty"`
	// All purges every dead letter; it cannot be combined with a filter.
	All bool `json:"all,omitempty"`
	// DryRun counts what would be purged and removes nothing.
	DryRun bool `json:"dryRun,omitempty"`
}

// PurgeResult is the answer of a purge: Matching is what the selection
// held, Purged what was removed (0 for a dry run).
type PurgeResult struct {
	Purged   uint64 `json:"purged"`
	Matching uint64 `json:"matching"`
}

// checkPurge refuses a purge that does not say what it removes.
func checkPurge(q PurgeQuery) error {
	hasFilter := q.Subject != "" || q.TenantID != ""
	switch {
	case q.All && hasFilter:
		return invalid("all", "cannot be combined with subject or tenantId: give a filter, or all alone to purge every dead letter")
	case !q.All && !hasFilter:
		return invalid("all", "is required to purge every dead letter: give a filter (subject and/or tenantId), or all: true")
	}
	return nil
}

// Purge removes the dead letters q selects that are in the stream when it
// starts, and returns how many it removed (counted just before; a dead
// letter redriven at the same moment may be counted though another call
// removed it); with q.DryRun it only counts them.
func (s *Service) Purge(ctx context.Context, q PurgeQuery) (uint64, error) {
	if err := checkPurge(q); err != nil {
		return 0, err
	}
	filters, err := dlqFilters(q.Subject, q.TenantID)
	if err != nil {
		return 0, err
	}
	st, err := s.js.Stream(ctx, bus.StreamDLQ)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", bus.StreamDLQ, err)
	}
	// Dead letters written while this runs are not part of what the caller
	// saw: purge below the sequence after the last one now.
	state := st.CachedInfo().State
	upTo := state.LastSeq + 1
	if q.All {
		if state.Msgs == 0 || q.DryRun {
			return state.Msgs, nil
		}
		if err := st.Purge(ctx, jetstream.WithPurgeSequence(upTo)); err != nil {
			return 0, fmt.Errorf("purge %s: %w", bus.StreamDLQ, err)
		}
		return state.Msgs, nil
	}
	var purged uint64
	for _, f := range filters {
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(f))
		if err != nil {
			return purged, fmt.Errorf("count %s: %w", f, err)
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		if n == 0 {
			continue
		}
		if !q.DryRun {
			if err := st.Purge(ctx, jetstream.WithPurgeSubject(f), jetstream.WithPurgeSequence(upTo)); err != nil {
				return purged, fmt.Errorf("purge %s: %w", f, err)
			}
		}
		purged += n
	}
	return purged, nil
}
