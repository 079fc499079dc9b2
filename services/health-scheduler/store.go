package healthscheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// healthRecord is what the health bucket holds: the public record the
// manager joins into reads, plus the anti-flapping state.
type healthRecord struct {
	contracts.IntegrationHealth
	Flap flapState `json:"flap"`
}

// transition is the outcome of recording one result.
type transition struct {
	previous, current contracts.HealthStatus
	revision          uint64
	// cause is the first failing check (connectivity, then authentication,
	// then functionality) when the integration is not healthy.
	cause contracts.HealthCheckResult
}

// healthStore writes health records with compare-and-set, so concurrent
// checks of one integration on several workers never lose a result.
type healthStore struct {
	kv        jetstream.KeyValue
	threshold int
}

// record folds res into the integration's record.
// exists reports whether the integration is still in the catalog; a result
// that arrives after its integration was deleted is dropped, not recorded.
func (s *healthStore) record(ctx context.Context, it contracts.Integration, res contracts.HealthCheckResult, breaker string, exists func() bool) (transition, error) {
	key := it.TenantID + "." + it.ID
	for attempt := 0; attempt < 20; attempt++ {
		var rec healthRecord
		var rev uint64
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			rec.Status = contracts.HealthUnknown
		case err != nil:
			return transition{}, fmt.Errorf("read health of %s: %w", it.ID, err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				return transition{}, fmt.Errorf("decode health of %s: %w", it.ID, err)
			}
		}
		prev := rec.Status
		if prev == "" {
			prev = contracts.HealthUnknown
		}
		if rec.Checks == nil {
			rec.Checks = map[contracts.CheckType]contracts.HealthCheckResult{}
		}
		rec.TenantID, rec.IntegrationID = it.TenantID, it.ID
		rec.Checks[res.CheckType] = res
		rec.Flap = rec.Flap.observe(overall(rec.Checks), s.threshold)
		checked := res.CheckedAt
		rec.LastCheck = &checked
		rec.Breaker = breaker
		rec.Status = rec.Flap.Confirmed
		b, _ := json.Marshal(rec)
		if !exists() {
			return transition{previous: prev, current: prev}, nil
		}
		var newRev uint64
		if rev == 0 {
			newRev, err = s.kv.Create(ctx, key, b)
		} else {
			newRev, err = s.kv.Update(ctx, key, b, rev)
		}
		if err == nil {
			tr := transition{previous: prev, current: rec.Status, revision: newRev}
			for _, ct := range contracts.CheckTypes {
				if r, ok := rec.Checks[ct]; ok && r.Status != contracts.HealthHealthy && rec.Status != contracts.HealthHealthy {
					tr.cause = r
					break
				}
			}
			return tr, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return transition{}, fmt.Errorf("write health of %s: %w", it.ID, err)
		}
	}
	return transition{}, fmt.Errorf("write health of %s: too much contention", it.ID)
}

// remove deletes the record of a deleted integration.
func (s *healthStore) remove(ctx context.Context, key string) error {
	err := s.kv.Delete(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return err
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
