package ops

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

func TestEventFilters(t *testing.T) {
	t.Parallel()
	const tenant = "0193a0b4-0000-7000-8000-000000000001"
	tests := []struct {
		name     string
		filter   string
		tenant   string
		replayed bool
		want     []string // nil with wantErr
		wantErr  string   // the InvalidError's field
		wantLen  int      // when want is nil and no error: how many filters
	}{
		{name: "empty is every event prefix", wantLen: len(contracts.EventSubjects)},
		{name: "prefix with >", filter: "integration.health.changed.>", want: []string{"integration.health.changed.*.*"}},
		{name: "bare prefix is a token prefix", filter: "integration.health.changed", want: []string{"integration.health.changed.*.*"}},
		{name: "partial prefix reaches its prefixes", filter: "integration.health", want: []string{"integration.health.checked.*.*", "integration.health.changed.*.*"}},
		{name: "full subject", filter: "integration.created.t1.i1", want: []string{"integration.created.t1.i1"}},
		// Exactly what NATS would match: a tenant may be called "changed".
		{name: "wildcard token in the prefix", filter: "integration.*.changed.>", want: []string{
			"integration.created.changed.*", "integration.updated.changed.*", "integration.deleted.changed.*", "integration.health.changed.*.*",
		}},
		{name: "tenant narrows", filter: "notification.>", tenant: tenant, want: []string{"notification.sent." + tenant + ".*", "notification.failed." + tenant + ".*"}},
		{name: "tenant narrows everything", tenant: tenant, wantLen: len(contracts.EventSubjects)},
		{name: "tenant contradicting the filter", filter: "integration.created.other.>", tenant: tenant, wantErr: "subject"},
		{name: "command subjects are not events", filter: "integration.test.requested.>", wantErr: "subject"},
		{name: "other streams are out of reach", filter: "inthub.dlq.>", wantErr: "subject"},
		{name: "> alone is every event", filter: ">", wantLen: len(contracts.EventSubjects)},
		{name: "partial wildcard token", filter: "integration.health.chan*", wantErr: "subject"},
		{name: "> in the middle", filter: "integration.>.changed", wantErr: "subject"},
		{name: "empty token", filter: "integration..changed", wantErr: "subject"},
		{name: "too many tokens", filter: "integration.created.t.i.extra", wantErr: "subject"},
		{name: "bad tenant", tenant: "a.b", wantErr: "tenantId"},
		{name: "replayed copies need asking", filter: "inthub.replay.run1.>", wantErr: "subject"},
		{name: "replayed copies when allowed", filter: "inthub.replay.run1.integration.health.changed.>", replayed: true, want: []string{"inthub.replay.run1.integration.health.changed.*.*"}},
		{name: "replayed copies narrowed by tenant", filter: "inthub.replay.run1.>", tenant: tenant, replayed: true, wantLen: len(contracts.EventSubjects)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := eventFilters(tc.filter, tc.tenant, tc.replayed)
			if tc.wantErr != "" {
				var inv *InvalidError
				if !errors.As(err, &inv) || inv.Field != tc.wantErr {
					t.Fatalf("eventFilters(%q, %q) = %v, %v; want an invalid %s", tc.filter, tc.tenant, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if tc.want == nil && len(got) != tc.wantLen {
				t.Fatalf("got %d filters %v, want %d", len(got), got, tc.wantLen)
			}
			if tc.tenant != "" {
				for _, f := range got {
					if !slices.Contains(strings.Split(f, "."), tc.tenant) {
						t.Errorf("filter %s is not narrowed to the tenant", f)
					}
				}
			}
		})
	}
}

func TestDLQFilters(t *testing.T) {
	t.Parallel()
	got, err := dlqFilters("integration.test.requested.>", "")
	if err != nil || !slices.Equal(got, []string{"inthub.dlq.integration.test.requested.*.*"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = dlqFilters("inthub.dlq.notification.send.requested.t1.>", "")
	if err != nil || !slices.Equal(got, []string{"inthub.dlq.notification.send.requested.t1.*"}) {
		t.Fatalf("with the DLQ prefix: got %v, %v", got, err)
	}
	if got, err := dlqFilters("", ""); err != nil || got != nil {
		t.Fatalf("no filter: got %v, %v", got, err)
	}
	if _, err := dlqFilters("inthub.manager.>", ""); err == nil {
		t.Fatal("a manager subject was accepted")
	}
}

func TestReplayTargetAndRedriveSubject(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"inthub.replay.incident-42", "inthub.replay.run_1"} {
		if _, err := checkTarget(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "inthub.replay", "inthub.replay.", "inthub.replay.a.b", "inthub.replay.*", "integration.health.changed.t.i", "inthub.dlq.x"} {
		if _, err := checkTarget(bad); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
	for _, ok := range []string{"integration.test.requested.t.i", "integration.health.changed.t.i", "notification.send.requested.t._"} {
		if err := redriveSubject(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"integration.test.requested.t", "integration.test.requested.*.i", "inthub.manager.integrations.create", "inthub.dlq.integration.test.requested.t.i", ""} {
		if err := redriveSubject(bad); err == nil {
			t.Errorf("redrive to %q accepted", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := New(nil, Options{Now: func() time.Time { return now }})
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"15m", now.Add(-15 * time.Minute), true},
		{"90s", now.Add(-90 * time.Second), true},
		{"3d", now.Add(-72 * time.Hour), true},
		{"2025-02-28T09:30:00Z", time.Date(2025, 2, 28, 9, 30, 0, 0, time.UTC), true},
		{"2025-02-28T09:30:00.123+01:00", time.Date(2025, 2, 28, 8, 30, 0, 123e6, time.UTC), true},
		{"-5m", time.Time{}, false},
		{"0s", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2025-02-28", time.Time{}, false},
	}
	for _, tc := range tests {
		got, err := s.ParseTime("since", tc.in)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
