package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/notifyrules"
)

// Bounds of a rule's delivery history. The deliveries bucket is keyed by
// tenant and a digest of event:rule:target (for idempotency, not for
// queries), so a rule's deliveries are found by reading the tenant's
// records: at most maxDeliveryScan of them per answer.
const (
	defaultDeliveries = 50
	maxDeliveries     = 500
	maxDeliveryScan   = 5000
)

// Deliveries lists the deliveries of one of the tenant's rules that the
// notifier still remembers (the bucket's TTL), newest first. Another
// tenant's rule is 404, as for every rule endpoint.
func (s *ruleStore) Deliveries(ctx context.Context, r notifyrules.DeliveriesRequest) (contracts.NotificationDeliveryList, error) {
	out := contracts.NotificationDeliveryList{Items: []contracts.NotificationDelivery{}}
	if r.Limit == 0 {
		r.Limit = defaultDeliveries
	}
	if r.Limit < 1 || r.Limit > maxDeliveries {
		return out, invalid("limit", "limit must be 1 to %d", maxDeliveries)
	}
	rule, err := s.read(ctx, r.TenantID, r.ID)
	if err != nil {
		return out, err
	}
	lister, err := s.deliveries.ListKeysFiltered(ctx, r.TenantID+".*")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return out, nil
		}
		return out, storeError(err)
	}
	defer func() { _ = lister.Stop() }()
	scanned := 0
	marker := ":" + rule.ID + ":"
	for k := range lister.Keys() {
		if scanned == maxDeliveryScan {
			out.Truncated = true
			break
		}
		scanned++
		e, err := s.deliveries.Get(ctx, k)
		if err != nil {
			continue // expired or released meanwhile
		}
		var rec deliveryRecord
		if json.Unmarshal(e.Value(), &rec) != nil {
			continue
		}
		i := strings.LastIndex(rec.Key, marker)
		if i < 0 {
			continue
		}
		target, channel, _ := strings.Cut(rec.Key[i+len(marker):], "/")
		out.Items = append(out.Items, contracts.NotificationDelivery{
			EventID: rec.Key[:i], IntegrationID: target, Channel: channel, Status: rec.Status,
			ProviderMessageID: rec.ProviderMessageID, ErrorCode: rec.Code, Reason: rec.Reason, At: rec.At,
		})
	}
	sort.SliceStable(out.Items, func(i, j int) bool { return out.Items[i].At.After(out.Items[j].At) })
	if len(out.Items) > r.Limit {
		out.Items = out.Items[:r.Limit]
	}
	return out, nil
}
