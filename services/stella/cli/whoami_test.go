package cli_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/contracts"
)

// stella whoami prints what the hub makes of the token: its name, tenant
// and roles, as a table, JSON or YAML; a refused token exits 4.
func TestWhoami(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	n := slices.Index(testHub.tokens, h.token)
	tenantName, tenantID := fmt.Sprintf("tenant-%02d", n), fmt.Sprintf("0193a0b4-0000-7000-8000-%012d", n+1)
	operator := h.env("STELLA_TOKEN=" + testHub.operatorToken)
	tests := []struct {
		name  string
		env   func(string) string
		args  []string
		code  int
		want  []string
		avoid []string
	}{
		{"tenant's token as a table", h.env(), nil, cli.ExitOK,
			[]string{"NAME", tenantName, "KIND", "token", "TENANT", tenantID, "ROLES", "-"}, []string{h.token, "operator", "ISSUER"}},
		{"operator's token", operator, nil, cli.ExitOK, []string{"operator", operatorTenant}, []string{testHub.operatorToken}},
		{"yaml", h.env(), []string{"-o", "yaml"}, cli.ExitOK, []string{"kind: token", "name: " + tenantName, "tenantId: " + tenantID, "roles: []"}, nil},
		{"a token the hub does not know", h.env("STELLA_TOKEN=not-a-token"), nil, cli.ExitUnauthorized, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := stella(t, tc.env, append([]string{"whoami"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q\n%s", w, r)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(r.stdout+r.stderr, a) {
					t.Errorf("output has %q\n%s", a, r)
				}
			}
			if tc.code == cli.ExitUnauthorized && !strings.Contains(r.stderr, "UNAUTHORIZED") {
				t.Errorf("stderr lacks the API's code\n%s", r)
			}
		})
	}
	t.Run("json is the API's Identity", func(t *testing.T) {
		t.Parallel()
		id := mustJSON[contracts.Identity](t, stella(t, operator, "whoami", "-o", "json"))
		if id.Kind != contracts.IdentityToken || id.Name != "operator" || id.TenantID != operatorTenant || !slices.Equal(id.Roles, []string{"operator"}) {
			t.Fatalf("identity %+v", id)
		}
	})
}
