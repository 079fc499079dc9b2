package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Idempotency keys of creates.
const (
	// BucketIdempotency holds, per tenant and key, what the first create
	// with that key made. The manager alone reads and writes it.
	BucketIdempotency = "manager-idempotency"
	// IdempotencyTTL is how long a key is remembered after its last write.
	IdempotencyTTL = 24 * time.Hour
	// idempotencyMaxBytes bounds the bucket (about 300,000 keys a day);
	// when it is full, a create with a key is refused 503 until records age
	// out, never run without its key's protection.
	idempotencyMaxBytes = 64 << 20
	// maxIdempotencyKey is the longest key accepted, in bytes.
	maxIdempotencyKey = 255
)

// IdempotencyBucket is the definition of BucketIdempotency.
func IdempotencyBucket(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:       BucketIdempotency,
		Description:  "Integration Hub manager: create idempotency keys by <tenantId>.<sha256(key)>",
		History:      1,
		TTL:          IdempotencyTTL,
		MaxBytes:     idempotencyMaxBytes,
		MaxValueSize: 1024,
		Replicas:     replicas,
		Storage:      jetstream.FileStorage,
	}
}

// keyRecord is what a key maps to: the fingerprint of the first request's
// body, the id (and creation time) that request chose, and, once the
// integration is stored, its creation revision. It is written before the
// integration, so whichever call comes with the key stores the
// integration under that one id: a key never makes two.
type keyRecord struct {
	Fingerprint   string    `json:"fingerprint"`
	IntegrationID string    `json:"integrationId"`
	CreatedAt     time.Time `json:"createdAt"`
	// Revision is 0 until the integration is stored.
	Revision uint64 `json:"revision,omitempty"`
}

// keyStore keeps keyRecords in BucketIdempotency under
// <tenantId>.<hex sha256 of the key>: any key fits a KV key, and tenants
// cannot meet.
type keyStore struct {
	kv      jetstream.KeyValue
	timeout time.Duration
}

func keyOf(tenant, idemKey string) string {
	sum := sha256.Sum256([]byte(idemKey))
	return tenant + "." + hex.EncodeToString(sum[:])
}

// validIdempotencyKey accepts 1 to 255 printable ASCII characters, as an
// HTTP header value carries them.
func validIdempotencyKey(k string) error {
	bad := len(k) > maxIdempotencyKey
	for i := 0; i < len(k) && !bad; i++ {
		bad = k[i] < 0x20 || k[i] > 0x7e
	}
	if bad {
		return apierr.BadRequest(apierr.InvalidFieldValue, "idempotencyKey must be 1 to %d printable ASCII characters", maxIdempotencyKey).With("field", "idempotencyKey")
	}
	return nil
}

// fingerprint identifies a create's body: encoding/json writes map keys in
// order, so equal inputs have equal fingerprints.
func fingerprint(in contracts.IntegrationInput) string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// claim records rec under the key unless the key is taken: it returns the
// record in force, its KV revision and whether it is rec.
func (s *keyStore) claim(ctx context.Context, tenant, idemKey string, rec keyRecord) (keyRecord, uint64, bool, error) {
	k := keyOf(tenant, idemKey)
	b, err := json.Marshal(rec)
	if err != nil {
		return rec, 0, false, err
	}
	for attempt := 0; attempt < 3; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		rev, err := s.kv.Create(cctx, k, b)
		cancel()
		if err == nil {
			return rec, rev, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return rec, 0, false, unavailable("record idempotency key", err)
		}
		gctx, cancel := context.WithTimeout(ctx, s.timeout)
		e, err := s.kv.Get(gctx, k)
		cancel()
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // aged out in between: claim again
		}
		if err != nil {
			return rec, 0, false, unavailable("read idempotency key", err)
		}
		var held keyRecord
		if err := json.Unmarshal(e.Value(), &held); err != nil {
			return rec, 0, false, fmt.Errorf("decode idempotency record: %w", err)
		}
		return held, e.Revision(), false, nil
	}
	return rec, 0, false, unavailable("record idempotency key", errors.New("key kept vanishing"))
}

// complete notes the integration's creation revision on the key's record
// (at KV revision kvRev). Losing this write loses nothing: a retry finds
// the integration by the recorded id.
func (s *keyStore) complete(ctx context.Context, tenant, idemKey string, rec keyRecord, kvRev uint64) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.kv.Update(ctx, keyOf(tenant, idemKey), b, kvRev); err != nil {
		return fmt.Errorf("complete idempotency record: %w", err)
	}
	return nil
}

// keyReused answers a key that came back with another body.
func keyReused() error {
	return apierr.New(http.StatusUnprocessableEntity, apierr.IdempotencyKeyReused,
		"this Idempotency-Key was used for a create with another body; use a new key for a new integration").With("field", "idempotencyKey")
}
