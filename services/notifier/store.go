package notifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Buckets the notifier owns.
const (
	BucketRules      = "notification-rules"
	BucketDeliveries = "notification-deliveries"
	BucketThreads    = "notification-threads"
)

func rulesBucket(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket: BucketRules, Description: "Notification rules by <tenantId>.<ruleId> (written by the notifier only)",
		History: 5, Replicas: replicas, Storage: jetstream.FileStorage,
	}
}

func deliveriesBucket(replicas int, ttl time.Duration) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket: BucketDeliveries, Description: "Notification deliveries by <tenantId>.<hash of event:rule:target>, for idempotency",
		History: 1, TTL: ttl, Replicas: replicas, Storage: jetstream.FileStorage,
	}
}

func threadsBucket(replicas int, ttl time.Duration) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket: BucketThreads, Description: "Provider thread ids by <tenantId>.<integrationId>.<threadKey>",
		History: 1, TTL: ttl, Replicas: replicas, Storage: jetstream.FileStorage,
	}
}

// digest is a KV-safe stand-in for an arbitrary key.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:20])
}

// Delivery states.
const (
	statusPending = "pending"
	statusSent    = "sent"
	statusFailed  = "failed"
)

// deliveryRecord is what the deliveries bucket holds per idempotency key.
type deliveryRecord struct {
	Key               string `json:"key"`
	Status            string `json:"status"`
	ProviderMessageID string `json:"providerMessageId,omitempty"`
	Code              string `json:"code,omitempty"`
	Reason            string `json:"reason,omitempty"`
	// Sequence is the stream sequence of the message a failure belongs to:
	// its redeliveries skip the target, a redrive from the DLQ (a new
	// message) tries again.
	Sequence uint64    `json:"sequence,omitempty"`
	At       time.Time `json:"at"`
}

// claimResult is what claiming a delivery found.
type claimResult int

const (
	claimed     claimResult = iota // ours to send
	alreadySent                    // sent before: skip
	failedHere                     // failed for good on this message before
	busy                           // another worker is sending it now
)

// deliveryStore records each delivery under its idempotency key
// <event id>:<rule id>:<target>, so a redelivered event never sends twice.
// A claim (pending) is taken before the provider call and becomes "sent"
// after it; the delivery counts as done only once "sent" is stored.
type deliveryStore struct {
	kv jetstream.KeyValue
	// staleAfter is when a pending claim is taken to be a dead worker's.
	staleAfter time.Duration
	now        func() time.Time
}

func (s *deliveryStore) kvKey(tenantID, key string) string { return tenantID + "." + digest(key) }

// claim takes the delivery of key for the message at seq.
func (s *deliveryStore) claim(ctx context.Context, tenantID, key string, seq uint64) (claimResult, deliveryRecord, error) {
	k := s.kvKey(tenantID, key)
	pending := deliveryRecord{Key: key, Status: statusPending, At: s.now().UTC()}
	b, _ := json.Marshal(pending)
	for attempt := 0; attempt < 5; attempt++ {
		if _, err := s.kv.Create(ctx, k, b); err == nil {
			return claimed, pending, nil
		} else if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, pending, fmt.Errorf("claim delivery: %w", err)
		}
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return 0, pending, fmt.Errorf("read delivery: %w", err)
		}
		var rec deliveryRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return 0, pending, fmt.Errorf("decode delivery: %w", err)
		}
		switch {
		case rec.Status == statusSent:
			return alreadySent, rec, nil
		case rec.Status == statusFailed && rec.Sequence == seq:
			return failedHere, rec, nil
		case rec.Status == statusPending && s.now().Sub(rec.At) < s.staleAfter:
			return busy, rec, nil
		}
		// A failure of an earlier message (a redrive) or a dead worker's
		// claim: take it over.
		if _, err := s.kv.Update(ctx, k, b, e.Revision()); err == nil {
			return claimed, pending, nil
		} else if !isWrongRevision(err) {
			return 0, pending, fmt.Errorf("take over delivery: %w", err)
		}
	}
	return busy, pending, nil
}

// sent records the delivery as done.
func (s *deliveryStore) sent(ctx context.Context, tenantID, key, providerMessageID string) error {
	b, _ := json.Marshal(deliveryRecord{Key: key, Status: statusSent, ProviderMessageID: providerMessageID, At: s.now().UTC()})
	if _, err := s.kv.Put(ctx, s.kvKey(tenantID, key), b); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// failed records a permanent failure on the message at seq.
func (s *deliveryStore) failed(ctx context.Context, tenantID, key string, seq uint64, code, reason string) error {
	b, _ := json.Marshal(deliveryRecord{Key: key, Status: statusFailed, Code: code, Reason: reason, Sequence: seq, At: s.now().UTC()})
	if _, err := s.kv.Put(ctx, s.kvKey(tenantID, key), b); err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	return nil
}

// release drops a claim after a failure that a redelivery will retry.
func (s *deliveryStore) release(ctx context.Context, tenantID, key string) error {
	return s.kv.Delete(ctx, s.kvKey(tenantID, key))
}

// safeThreadKey is the thread key as a KV token: as is when it is one,
// else its digest.
var kvToken = regexp.MustCompile(`^[A-Za-z0-9_=-]{1,128}$`)

func safeThreadKey(k string) string {
	if kvToken.MatchString(k) {
		return k
	}
	return "h" + digest(k)
}

// threadRecord is a provider's thread id for a thread key.
type threadRecord struct {
	ThreadID string    `json:"threadId"`
	At       time.Time `json:"at"`
}

// threadStore maps <tenant>.<integration>.<threadKey> to the provider's
// thread (a Slack "<channel>:<ts>", an email Message-ID), so follow-ups of
// one alert reply in one thread.
type threadStore struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

func threadKVKey(tenantID, integrationID, threadKey string) string {
	return tenantID + "." + integrationID + "." + safeThreadKey(threadKey)
}

func (s *threadStore) get(ctx context.Context, tenantID, integrationID, threadKey string) (string, bool, error) {
	e, err := s.kv.Get(ctx, threadKVKey(tenantID, integrationID, threadKey))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read thread: %w", err)
	}
	var r threadRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil || r.ThreadID == "" {
		return "", false, nil
	}
	return r.ThreadID, true, nil
}

func (s *threadStore) put(ctx context.Context, tenantID, integrationID, threadKey, threadID string) error {
	b, _ := json.Marshal(threadRecord{ThreadID: threadID, At: s.now().UTC()})
	_, err := s.kv.Put(ctx, threadKVKey(tenantID, integrationID, threadKey), b)
	return err
}

func (s *threadStore) remove(ctx context.Context, tenantID, integrationID, threadKey string) error {
	return s.kv.Delete(ctx, threadKVKey(tenantID, integrationID, threadKey))
}
