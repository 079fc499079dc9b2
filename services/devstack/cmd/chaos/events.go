package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/contracts"
)

// completion is one event that completes a command, as stored in
// INTHUB_EVENTS: at is the stream's time of storing it.
type completion struct {
	at     time.Time
	failed bool // notification.failed, or a discovery answered with an error
	// verdict is a run's: the pipeline's final status, the analysis's
	// verdict.
	verdict string
}

// eventLog reads INTHUB_EVENTS from where it stopped last time, so it can be
// polled across NATS restarts; it keeps, by id, what the audit counts.
type eventLog struct {
	js jetstream.JetStream

	mu   sync.Mutex
	next uint64
	// created is every integration.created event by integration id.
	created map[string][]time.Time
	// done is every test, discovery and notification outcome by request id.
	done map[string][]completion
	// sent is every notification.sent event by request id.
	sent map[string]int
}

func newEventLog(js jetstream.JetStream) *eventLog {
	return &eventLog{js: js, next: 1, created: map[string][]time.Time{}, done: map[string][]completion{}, sent: map[string]int{}}
}

// auditedSubjects are the events the audit reads (health results, the bulk
// of the stream, are not).
var auditedSubjects = []string{
	contracts.SubjectCreated + ".>", contracts.SubjectTestCompleted + ".>", contracts.SubjectDiscoveryCompleted + ".>",
	contracts.SubjectNotificationSent + ".>", contracts.SubjectNotificationFailed + ".>",
	contracts.SubjectRunCompleted + ".>", contracts.SubjectAnalysisCompleted + ".>",
}

// maxBatches bounds one poll: 2,000 batches of 500 is far above any run.
const maxBatches = 2000

// poll reads every audited event stored since the last poll.
func (e *eventLog) poll(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cons, err := e.js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: auditedSubjects, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: e.next,
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", bus.StreamEvents, err)
	}
	for range maxBatches {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", bus.StreamEvents, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			e.next = meta.Sequence.Stream + 1
			e.record(m.Subject(), m.Data(), meta.Timestamp)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read %s: %w", bus.StreamEvents, err)
		}
		if n == 0 {
			return nil
		}
	}
	return nil
}

// record counts one event; a body that does not decode is skipped (the
// services' schemas tests guard the shapes).
func (e *eventLog) record(subject string, data []byte, at time.Time) {
	switch contracts.PrefixOf(subject) {
	case contracts.SubjectCreated:
		var ev contracts.LifecycleEvent
		if json.Unmarshal(data, &ev) == nil {
			e.created[ev.Integration.ID] = append(e.created[ev.Integration.ID], at)
		}
	case contracts.SubjectTestCompleted:
		var ev contracts.TestCompleted
		if json.Unmarshal(data, &ev) == nil {
			e.done[ev.RequestID] = append(e.done[ev.RequestID], completion{at: at})
		}
	case contracts.SubjectDiscoveryCompleted:
		var ev contracts.DiscoveryCompleted
		if json.Unmarshal(data, &ev) == nil {
			e.done[ev.RequestID] = append(e.done[ev.RequestID], completion{at: at, failed: ev.Error != nil})
		}
	case contracts.SubjectRunCompleted:
		// The load's idempotency key is its request id, so the run keeps
		// it whichever command or replica completes it.
		var ev contracts.PipelineRunEvent
		if json.Unmarshal(data, &ev) == nil {
			e.done[ev.RequestID] = append(e.done[ev.RequestID], completion{at: at, verdict: string(ev.Run.Status)})
		}
	case contracts.SubjectAnalysisCompleted:
		var ev contracts.AnalysisRunCompleted
		if json.Unmarshal(data, &ev) == nil {
			e.done[ev.RunID] = append(e.done[ev.RunID], completion{at: at, verdict: ev.Verdict, failed: ev.Error != nil})
		}
	case contracts.SubjectNotificationSent, contracts.SubjectNotificationFailed:
		var ev contracts.NotificationOutcome
		if json.Unmarshal(data, &ev) == nil {
			failed := contracts.PrefixOf(subject) == contracts.SubjectNotificationFailed
			e.done[ev.RequestID] = append(e.done[ev.RequestID], completion{at: at, failed: failed})
			if !failed {
				e.sent[ev.RequestID]++
			}
		}
	}
}

// snapshot copies what the audit reads.
func (e *eventLog) snapshot() (created map[string][]time.Time, done map[string][]completion, sent map[string]int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	created = make(map[string][]time.Time, len(e.created))
	for k, v := range e.created {
		created[k] = append([]time.Time(nil), v...)
	}
	done = make(map[string][]completion, len(e.done))
	for k, v := range e.done {
		done[k] = append([]completion(nil), v...)
	}
	sent = make(map[string]int, len(e.sent))
	for k, v := range e.sent {
		sent[k] = v
	}
	return created, done, sent
}

// storedIntegrations lists the catalog's store of record: integration id to
// name, every key of the integrations bucket.
func storedIntegrations(ctx context.Context, js jetstream.JetStream) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, catalog.BucketIntegrations)
	if err != nil {
		return nil, fmt.Errorf("%s bucket: %w", catalog.BucketIntegrations, err)
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", catalog.BucketIntegrations, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		entry, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s %s: %w", catalog.BucketIntegrations, k, err)
		}
		var it contracts.Integration
		if err := json.Unmarshal(entry.Value(), &it); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", catalog.BucketIntegrations, k, err)
		}
		out[it.ID] = it.Name
	}
	return out, nil
}
