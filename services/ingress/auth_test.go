package ingress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTokens(t *testing.T) {
	t.Parallel()
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	file := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(file, []byte(`{"tokens":[{"name":"ops","tenantId":"`+tenant+`","sha256":"`+HashToken("file-token")+`","roles":["operator"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadTokens(file, "ci:"+tenant+":"+HashToken("env-token"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tokens.Lookup("file-token"); !ok || p.TenantID != tenant || !p.HasRole(RoleOperator) {
		t.Fatalf("file token: %+v %v", p, ok)
	}
	if p, ok := tokens.Lookup("env-token"); !ok || p.Name != "ci" || p.HasRole(RoleOperator) {
		t.Fatalf("env token: %+v %v", p, ok)
	}
	for _, bad := range []string{"", "env-token ", "ENV-TOKEN", HashToken("env-token")} {
		if _, ok := tokens.Lookup(bad); ok {
			t.Errorf("token %q accepted", bad)
		}
	}

	tests := []struct{ name, spec, wantErr string }{
		{"nothing configured", "", "no API tokens"},
		{"short entry", "ci:" + tenant, "name:tenantId:sha256"},
		{"tenant not a UUID", "ci:acme:" + HashToken("x"), "UUID"},
		{"hash not hex", "ci:" + tenant + ":plaintext-token", "64 hex"},
		{"unknown role", "ci:" + tenant + ":" + HashToken("x") + ":admin", "unknown role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTokens("", tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error about %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "plaintext-token") {
				t.Fatalf("error repeats the token: %v", err)
			}
		})
	}
}
