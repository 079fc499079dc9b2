package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/contracts"
)

// entry is one stored rule as the bucket answers it.
type entry struct {
	key   string
	value []byte
	rev   uint64
}

func (e entry) Bucket() string                  { return BucketRules }
func (e entry) Key() string                     { return e.key }
func (e entry) Value() []byte                   { return e.value }
func (e entry) Revision() uint64                { return e.rev }
func (e entry) Created() time.Time              { return time.Time{} }
func (e entry) Delta() uint64                   { return 0 }
func (e entry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }

// A rule the watch has not delivered yet (saved a moment ago, a reconnect)
// is read from the bucket instead of being called missing; only the
// bucket's "not found" makes it missing, and a failed read is retried.
func TestRuleLookupReadsTheBucketOnAMiss(t *testing.T) {
	t.Parallel()
	const tenant = "00000000-0000-4000-8000-0000000000a1"
	rule := contracts.NotificationRule{ID: "rule-1", TenantID: tenant, Name: "late",
		Match:   contracts.NotificationMatch{EventTypes: []string{contracts.SubjectHealthChanged}},
		Targets: []contracts.NotificationTarget{{IntegrationID: "hook-1"}}}
	stored, err := json.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	v := newRuleView()
	var fail error
	v.read = func(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
		reads++
		if fail != nil {
			return nil, fail
		}
		if key == tenant+".rule-1" {
			return entry{key: key, value: stored, rev: 7}, nil
		}
		return nil, jetstream.ErrKeyNotFound
	}
	tests := []struct {
		name, tenant, id string
		fail             error
		found            bool
		err              error
	}{
		{"written behind the watch", tenant, "rule-1", nil, true, nil},
		{"really missing", tenant, "rule-2", nil, false, nil},
		{"another tenant's id", "00000000-0000-4000-8000-0000000000b2", "rule-1", nil, false, nil},
		{"a key the bucket cannot hold", tenant, "a.b", nil, false, nil},
		{"the bucket cannot be read", tenant, "rule-3", errors.New("timeout"), false, errRuleStore},
	}
	for _, tc := range tests {
		fail = tc.fail
		r, ok, err := v.lookup(context.Background(), tc.tenant, tc.id)
		if ok != tc.found || !errors.Is(err, tc.err) || (ok && r.rule.ID != tc.id) {
			t.Fatalf("%s: found %v, err %v; want %v, %v", tc.name, ok, err, tc.found, tc.err)
		}
	}
	// The rule read is kept: the next lookup needs no read.
	before := reads
	if _, ok, _ := v.lookup(context.Background(), tenant, "rule-1"); !ok || reads != before {
		t.Fatalf("the rule read from the bucket was not kept (reads %d → %d)", before, reads)
	}
	// The watch's newer revision wins over an older read.
	newer := rule
	newer.Name = "renamed"
	b, _ := json.Marshal(newer)
	v.put(tenant+".rule-1", b, 9)
	v.putIfAbsent(tenant+".rule-1", stored, 7)
	if r, _ := v.get(tenant, "rule-1"); r.rule.Name != "renamed" {
		t.Fatalf("an older read replaced the watch's revision: %q", r.rule.Name)
	}
}
