package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestNotificationRulesAndAudit: stella manages notification rules with the
// integration commands' formats and exit codes, and stella audit lists who
// changed them, paged, scoped to the token's tenant.
func TestNotificationRulesAndAudit(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	env := h.env()
	n := slices.Index(testHub.tokens, h.token)
	me := fmt.Sprintf("tenant-%02d", n)
	hook := create(t, env, "--name", "rule target", "--provider", "webhook", "--endpoint", "https://hooks.example.com/rules")
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rule := `{"name": "release alerts", "match": {"eventTypes": ["integration.health.changed"]}, "targets": [{"integrationId": "` + hook.ID + `"}]}`
	disabled := `{"name": "release alerts", "disabled": true, "match": {"eventTypes": ["integration.health.changed"]}, "targets": [{"integrationId": "` + hook.ID + `"}]}`
	bad := `{"name": "nowhere", "match": {"eventTypes": ["integration.health.changed"]}, "targets": [{"integrationId": "` + uuid.NewString() + `"}]}`
	missing := uuid.NewString()

	r := stella(t, env, "notification-rules", "create", "-f", file("rule.json", rule), "-o", "json")
	if r.code != cli.ExitOK {
		t.Fatalf("create: %s", r)
	}
	created := mustJSON[contracts.NotificationRule](t, r)
	steps := []struct {
		name  string
		args  []string
		code  int
		want  []string
		stder string
	}{
		{"list as a table", []string{"rules", "list"}, cli.ExitOK, []string{"ID", "NAME", "ENABLED", created.ID, "release alerts", "true"}, ""},
		{"list wide", []string{"rules", "list", "-o", "wide"}, cli.ExitOK, []string{"LABEL SELECTOR", "UPDATED"}, ""},
		{"get as yaml", []string{"rules", "get", created.ID, "-o", "yaml"}, cli.ExitOK, []string{"name: release alerts", "id: " + created.ID}, ""},
		{"get a missing rule", []string{"rules", "get", missing}, cli.ExitNotFound, nil, "NOTIFICATION_RULE_NOT_FOUND"},
		{"a target that is not the tenant's", []string{"rules", "create", "-f", file("bad.json", bad)}, cli.ExitInvalidInput, nil, "INVALID_TARGET"},
		{"a file that is not JSON", []string{"rules", "create", "-f", file("no.json", "{")}, cli.ExitInvalidInput, nil, "not JSON"},
		{"replace at the revision read", []string{"rules", "replace", created.ID, "-f", file("disabled.json", disabled)}, cli.ExitOK, []string{"false"}, ""},
		{"replace at a stale revision", []string{"rules", "replace", created.ID, "-f", file("disabled.json", disabled), "--if-match", fmt.Sprint(created.Revision)}, cli.ExitInvalidInput, nil, "PRECONDITION_FAILED"},
		{"delete", []string{"rules", "delete", created.ID}, cli.ExitOK, []string{"notification rule " + created.ID + " deleted"}, ""},
		{"get after delete", []string{"notification-rules", "get", created.ID}, cli.ExitNotFound, nil, ""},
		{"another tenant's audit", []string{"audit", "list", "--tenant", operatorTenant}, cli.ExitUnauthorized, nil, "FORBIDDEN"},
		{"a bad resource type", []string{"audit", "list", "--resource-type", "secrets"}, cli.ExitInvalidInput, nil, "INVALID_QUERY"},
		{"audit of the webhook as a table", []string{"audit", "list", "--resource-id", hook.ID}, cli.ExitOK,
			[]string{"TIME", "ACTION", "ACTOR", "created", "integration", hook.ID, "token:" + me, "config.url"}, ""},
		{"audit wide shows values, not secrets", []string{"audit", "list", "--resource-id", hook.ID, "-o", "wide"}, cli.ExitOK,
			[]string{"config.url=∅→https://hooks.example.com/rules", "TENANT"}, ""},
	}
	for _, s := range steps {
		r := stella(t, env, s.args...)
		if r.code != s.code {
			t.Fatalf("%s: exit %d, want %d\n%s", s.name, r.code, s.code, r)
		}
		for _, w := range s.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: stdout lacks %q\n%s", s.name, w, r)
			}
		}
		if s.stder != "" && !strings.Contains(r.stderr, s.stder) {
			t.Errorf("%s: stderr lacks %q\n%s", s.name, s.stder, r)
		}
	}

	// The rule's three changes, by this tenant's token.
	page := mustJSON[contracts.AuditPage](t, stella(t, env, "audit", "list", "--resource-type", "notification-rule", "-o", "json"))
	var actions []string
	for _, rec := range page.Items {
		if rec.ResourceID != created.ID || rec.Actor == nil || rec.Actor.Name != me {
			t.Errorf("record %+v", rec)
		}
		actions = append(actions, rec.Action)
	}
	if !slices.Equal(actions, []string{contracts.AuditCreated, contracts.AuditUpdated, contracts.AuditDeleted}) {
		t.Fatalf("rule records %v", actions)
	}
	// --all follows the cursor: pages of one give the same four records
	// (the webhook's create and the rule's three), in order.
	whole := mustJSON[contracts.AuditPage](t, stella(t, env, "audit", "list", "-o", "json"))
	paged := mustJSON[contracts.AuditPage](t, stella(t, env, "audit", "list", "--limit", "1", "--all", "-o", "json"))
	if len(whole.Items) != 4 || len(paged.Items) != 4 || paged.NextCursor != "" {
		t.Fatalf("whole %d, paged %d records (cursor %q)", len(whole.Items), len(paged.Items), paged.NextCursor)
	}
	for i := range whole.Items {
		if whole.Items[i].ID != paged.Items[i].ID {
			t.Fatalf("record %d: %s paged, %s whole", i, paged.Items[i].ID, whole.Items[i].ID)
		}
	}
	// One page of one says there is more.
	if r := stella(t, env, "audit", "list", "--limit", "1"); r.code != cli.ExitOK || !strings.Contains(r.stderr, "more records: add --cursor") {
		t.Errorf("a first page of one: %s", r)
	}
	if r := stella(t, h.env("STELLA_TOKEN=not-a-token"), "audit", "list"); r.code != cli.ExitUnauthorized {
		t.Errorf("a refused token: %s", r)
	}
}
