package specs_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// sdkPrefixes are the import paths of the SDKs and clients connectors use.
// A binary that only validates and lists providers must link none of them.
var sdkPrefixes = []string{
	"github.com/aws/", "github.com/Azure/", "cloud.google.com/", "google.golang.org/api/",
	"golang.org/x/oauth2", "github.com/hashicorp/vault/", "github.com/slack-go/",
}

// implementationPrefix is where every provider's implementation lives; only
// the declarations (its /spec sub-packages) may be linked.
const implementationPrefix = "github.com/stella-ops/inthub/shared/connectors/"

// TestValidatingServicesLinkNoImplementation lists the dependency graphs of
// the manager and the ingress binaries with go list -deps: neither may hold
// an SDK package or a provider's implementation package.
func TestValidatingServicesLinkNoImplementation(t *testing.T) {
	t.Parallel()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	// allowed names, per binary, an SDK prefix it links for its own job
	// rather than for a provider: the ingress validates OIDC tokens with
	// go-oidc, which builds on golang.org/x/oauth2.
	allowed := map[string][]string{
		"github.com/stella-ops/inthub/services/ingress/cmd/ingress": {"golang.org/x/oauth2"},
	}
	for _, bin := range []string{
		"github.com/stella-ops/inthub/services/manager/cmd/manager",
		"github.com/stella-ops/inthub/services/ingress/cmd/ingress",
	} {
		t.Run(bin[strings.LastIndex(bin, "/")+1:], func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(goCmd, "list", "-deps", bin).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", bin, err, out)
			}
			deps := strings.Fields(string(out))
			for _, p := range deps {
				for _, sdk := range sdkPrefixes {
					if strings.HasPrefix(p, sdk) && !slices.Contains(allowed[bin], sdk) {
						t.Errorf("links SDK package %s", p)
					}
				}
				if isImplementation(p) {
					t.Errorf("links provider implementation %s", p)
				}
			}
			t.Logf("%d packages", len(deps))
		})
	}
}

// isImplementation reports whether p is a provider package other than a
// declaration: shared/connectors/<category>/<provider>[/...] not ending in
// /spec. The core package, the declarations list and connectortest-like
// helpers (one segment below connectors) are allowed.
func isImplementation(p string) bool {
	rest, ok := strings.CutPrefix(p, implementationPrefix)
	if !ok || strings.Count(rest, "/") < 1 {
		return false
	}
	return !strings.HasSuffix(rest, "/spec")
}

func TestIsImplementation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg  string
		want bool
	}{
		{"github.com/stella-ops/inthub/shared/connectors", false},
		{"github.com/stella-ops/inthub/shared/connectors/specs", false},
		{"github.com/stella-ops/inthub/shared/connectors/notify/slack/spec", false},
		{"github.com/stella-ops/inthub/shared/connectors/notify/slack", true},
		{"github.com/stella-ops/inthub/shared/connectors/secrets/vault/vaultfake", true},
		{"github.com/stella-ops/inthub/shared/httpx", false},
	}
	for _, tc := range tests {
		if got := isImplementation(tc.pkg); got != tc.want {
			t.Errorf("isImplementation(%s) = %v, want %v", tc.pkg, got, tc.want)
		}
	}
}
