package credentials

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	tenantA = "0193a0b4-0000-7000-8000-00000000000a"
	tenantB = "0193a0b4-0000-7000-8000-00000000000b"
	tenantC = "0193a0b4-0000-7000-8000-00000000000c" // listed nowhere
)

// testPolicy grants A the name ALPHA and B the name AB (a name that starts
// like another must not reach the other's secrets).
func testPolicy(t *testing.T) LocalPolicy {
	t.Helper()
	p, err := ParseLocalPolicy(tenantA+"=ALPHA, "+tenantB+"=AB", "INTHUB_SECRET_", "/run/inthub")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseLocalPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tenants string
		wantErr       string // part of the error; "" = valid
	}{
		{"empty", "", ""},
		{"blank", "  ", ""},
		{"one", tenantA + "=DEV", ""},
		{"two with spaces", tenantA + " = DEV , " + tenantB + "=OPS2", ""},
		{"no equals", tenantA, `entry 1 "` + tenantA + `": want <tenantId>=<NAME>`},
		{"not a uuid", "tenant-a=DEV", `entry 1 "tenant-a=DEV": the tenant id is not a UUID`},
		{"uuid without dashes", strings.ReplaceAll(tenantA, "-", "") + "=DEV", "entry 1"},
		{"lower-case name", tenantA + "=dev", "capital letters and digits"},
		{"underscore in name", tenantA + "=DEV_A", "capital letters and digits"},
		{"empty name", tenantA + "=", "capital letters and digits"},
		{"long name", tenantA + "=" + strings.Repeat("A", 33), "capital letters and digits"},
		{"tenant twice", tenantA + "=DEV," + tenantA + "=OPS", `entry 2 "` + tenantA + `=OPS": the tenant is listed twice`},
		{"name twice", tenantA + "=DEV," + tenantB + "=DEV", "entry 2 " + `"` + tenantB + `=DEV": NAME is already given to tenant ` + tenantA},
		{"empty entry", tenantA + "=DEV,,", "entry 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseLocalPolicy(tc.tenants, "", "")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ParseLocalPolicy("", "9LIVES_", ""); err == nil {
		t.Error("an env prefix starting with a digit was accepted")
	}
}

func TestLocalPolicyGivesEachTenantOnlyItsOwnNamesAndFolder(t *testing.T) {
	t.Parallel()
	p := testPolicy(t)
	tests := []struct {
		name, tenant, ref string
		ok                bool
	}{
		{"own env", tenantA, "env://INTHUB_SECRET_ALPHA_REGISTRY", true},
		{"own file", tenantA, "file:///run/inthub/alpha/registry.json#password", true},
		{"own file in a subfolder", tenantA, "file:///run/inthub/alpha/ci/token", true},
		{"another tenant's env", tenantB, "env://INTHUB_SECRET_ALPHA_REGISTRY", false},
		{"another tenant's file", tenantB, "file:///run/inthub/alpha/registry.json#password", false},
		{"a name that extends another's", tenantB, "env://INTHUB_SECRET_ABX_TOKEN", false},
		{"the bare prefix", tenantA, "env://INTHUB_SECRET_ALPHA_", false},
		{"the shared base prefix", tenantA, "env://INTHUB_SECRET_TOKEN", false},
		{"the hub's environment", tenantA, "env://HOME", false},
		{"the folder itself", tenantA, "file:///run/inthub/alpha", false},
		{"the base folder", tenantA, "file:///run/inthub/token", false},
		{"a sibling by prefix", tenantA, "file:///run/inthub/alpha-old/token", false},
		{"system file", tenantA, "file:///etc/passwd#x", false},
		{"unlisted tenant, base prefix", tenantC, "env://INTHUB_SECRET_TOKEN", false},
		{"unlisted tenant, any file", tenantC, "file:///run/inthub/token", false},
		{"empty tenant", "", "env://INTHUB_SECRET_ALPHA_REGISTRY", false},
		{"store references are not local", tenantC, "vault://vault-1/ci#token", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref, err := ParseRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Check(tc.tenant, ref)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrLocalRefNotAllowed) {
				t.Fatalf("refusal %v is not ErrLocalRefNotAllowed", err)
			}
		})
	}
	var zero LocalPolicy
	if err := zero.Check(tenantA, Ref{Scheme: SchemeEnv, Path: "INTHUB_SECRET_ALPHA_X"}); err == nil {
		t.Error("the zero policy granted a local reference")
	}
}

// TestAnotherTenantsLocalSecretIsNeverResolved is the regression test of
// local references crossing tenants: before they had an owner, any tenant
// could name INTHUB_SECRET_<anything> and have the hub read it for it.
func TestAnotherTenantsLocalSecretIsNeverResolved(t *testing.T) {
	t.Parallel()
	const secretOfA = "secret-of-tenant-a"
	read := 0
	r := &Resolver{Local: LocalResolver{
		Policy: testPolicy(t),
		LookupEnv: func(k string) (string, bool) {
			read++
			return secretOfA, k == "INTHUB_SECRET_ALPHA_TOKEN"
		},
		ReadFile: func(p string) ([]byte, error) {
			read++
			return []byte(`{"token":"` + secretOfA + `"}`), nil
		},
	}}
	ctx := context.Background()
	if s, err := r.Resolve(ctx, tenantA, "env://INTHUB_SECRET_ALPHA_TOKEN"); err != nil || s["value"] != secretOfA {
		t.Fatalf("tenant A cannot read its own secret: %v", err)
	}
	if s, err := r.Resolve(ctx, tenantA, "file:///run/inthub/alpha/ci.json#token"); err != nil || s["token"] != secretOfA {
		t.Fatalf("tenant A cannot read its own file: %v", err)
	}
	read = 0
	for _, tenant := range []string{tenantB, tenantC} {
		for _, ref := range []string{"env://INTHUB_SECRET_ALPHA_TOKEN", "file:///run/inthub/alpha/ci.json#token", "env://HOME", "file:///etc/passwd#x"} {
			t.Run(tenant[len(tenant)-1:]+" "+ref, func(t *testing.T) {
				s, err := r.Resolve(ctx, tenant, ref)
				if err == nil || s != nil {
					t.Fatal("resolved")
				}
				if resilience.CodeOf(err) != resilience.InvalidConfig || !errors.Is(err, ErrLocalRefNotAllowed) {
					t.Fatalf("refusal %v", err)
				}
				for _, hint := range []string{"INTHUB_SECRET_", "/run/inthub", "ALPHA", "alpha"} {
					if strings.Contains(err.Error(), hint) {
						t.Fatalf("refusal reveals the policy (%q): %v", hint, err)
					}
				}
			})
		}
	}
	if read != 0 {
		t.Fatalf("the environment or a file was read %d times for a refused reference", read)
	}
}

func TestLocalValues(t *testing.T) {
	t.Parallel()
	l := LocalResolver{
		Policy: testPolicy(t),
		LookupEnv: func(k string) (string, bool) {
			return map[string]string{"INTHUB_SECRET_ALPHA_JSON": `{"username":"u","password":"p"}`}[k], true
		},
		ReadFile: func(p string) ([]byte, error) { return []byte("plain\n"), nil },
	}
	ctx := context.Background()
	tests := []struct {
		name, ref string
		want      Secret
		code      resilience.Code
	}{
		{"JSON env", "env://INTHUB_SECRET_ALPHA_JSON", Secret{"username": "u", "password": "p"}, ""},
		{"unset env", "env://INTHUB_SECRET_ALPHA_UNSET", nil, resilience.CredentialFetchFailed},
		{"plain file", "file:///run/inthub/alpha/t", Secret{"value": "plain"}, ""},
		{"missing key", "file:///run/inthub/alpha/t#nope", nil, resilience.ResourceNotFound},
		{"store reference", "vault://v/p", nil, resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref, _ := ParseRef(tc.ref)
			got, err := l.Resolve(ctx, tenantA, ref)
			if resilience.CodeOf(err) != tc.code && !(err == nil && tc.code == "") {
				t.Fatalf("code %v, want %v", resilience.CodeOf(err), tc.code)
			}
			if tc.code == "" && (len(got) != len(tc.want) || got["value"] != tc.want["value"] || got["password"] != tc.want["password"]) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A symbolic link in a tenant's folder must not lead to another tenant's
// files (or the hub's own): the real path is checked before reading.
func TestLinkOutOfTheTenantsFolderIsRefused(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	const a, b = "00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"
	p, err := ParseLocalPolicy(a+"=A,"+b+"=B", "", base)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "a", "token"), []byte("a-secret-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "a", "token"), filepath.Join(base, "b", "stolen")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("token", filepath.Join(base, "a", "alias")); err != nil {
		t.Fatal(err)
	}
	l := LocalResolver{Policy: p}
	tests := []struct {
		name, tenant, path string
		code               resilience.Code
	}{
		{"own file", a, filepath.Join(base, "a", "token"), ""},
		{"own link within the folder", a, filepath.Join(base, "a", "alias"), ""},
		{"link into another tenant's folder", b, filepath.Join(base, "b", "stolen"), resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := l.Resolve(context.Background(), tc.tenant, Ref{Scheme: SchemeFile, Path: tc.path})
			if got := resilience.CodeOf(err); got != tc.code {
				t.Fatalf("code %q (%v), want %q", got, err, tc.code)
			}
			if tc.code == "" && s["value"] != "a-secret-value" {
				t.Fatalf("read %v", s)
			}
			if err != nil && strings.Contains(err.Error(), base) {
				t.Fatalf("the refusal reveals the folder: %v", err)
			}
		})
	}
}
