package credentials

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Ref
		ok   bool
	}{
		{"vault with key", "vault://vault-1/docker/registry.example.com#credentials", Ref{SchemeVault, "vault-1", "docker/registry.example.com", "credentials"}, true},
		{"vault without key", "vault://vault-1/ci/gitlab", Ref{SchemeVault, "vault-1", "ci/gitlab", ""}, true},
		{"authref naming a store by name", "authref://vault/gitlab#access-token", Ref{SchemeAuthRef, "vault", "gitlab", "access-token"}, true},
		{"env", "env://REGISTRY_PASSWORD", Ref{SchemeEnv, "", "REGISTRY_PASSWORD", ""}, true},
		{"file with key", "file:///run/secrets/registry.json#password", Ref{SchemeFile, "", "/run/secrets/registry.json", "password"}, true},
		{"empty", "", Ref{}, false},
		{"literal secret", "hunter2", Ref{}, false},
		{"unknown scheme", "s3://bucket/key", Ref{}, false},
		{"vault without path", "vault://vault-1", Ref{}, false},
		{"vault empty store", "vault:///path#k", Ref{}, false},
		{"dot-dot path", "vault://v/../etc#k", Ref{}, false},
		{"empty key", "vault://v/p#", Ref{}, false},
		{"user info", "vault://user:pass@v/p#k", Ref{}, false},
		{"query string", "vault://v/p?token=x#k", Ref{}, false},
		{"whitespace", "vault://v/p k#k", Ref{}, false},
		{"env with key", "env://NAME#k", Ref{}, false},
		{"env bad name", "env://1NAME", Ref{}, false},
		{"relative file", "file://secrets.json#k", Ref{}, false},
		{"too long", "vault://v/" + strings.Repeat("a", MaxRefLength), Ref{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRef(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("ParseRef(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if !tc.ok {
				if tc.in != "" && strings.Contains(err.Error(), tc.in) {
					t.Fatalf("error repeats the input: %v", err)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("ParseRef(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if again, err := ParseRef(got.String()); err != nil || again != got {
				t.Fatalf("round trip of %q gave %+v, %v", got.String(), again, err)
			}
		})
	}
}

// FuzzParseRef checks that no input panics, that accepted references round
// trip through String, and that errors never echo the input.
func FuzzParseRef(f *testing.F) {
	// The parser's own wording: an input that merely spells part of a fixed
	// hint ("authref:") is not an echo.
	src, err := os.ReadFile("ref.go")
	if err != nil {
		f.Fatal(err)
	}
	wording := strings.Join(regexp.MustCompile(`"[^"\n]*"`).FindAllString(string(src), -1), "\n")
	for _, s := range []string{"vault://vault-1/a/b#k", "authref://vault/gitlab#access-token", "env://X", "file:///a/b#c", "hunter2", "vault://a@b/c", "authref:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if len(s) >= 8 && strings.Contains(err.Error(), s) && !strings.Contains(wording, s) {
				t.Fatalf("error echoes input %q", s)
			}
			return
		}
		again, err := ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %+v %v", s, again, err)
		}
	})
}
