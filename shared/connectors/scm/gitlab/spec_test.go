package gitlab

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
)

func TestSpecs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   *connectors.Spec
		config map[string]any
		ok     bool
	}{
		{"scm", Spec, map[string]any{"url": "http://gitlab.stella-ops.local:8929"}, true},
		{"scm with bearer tokens", Spec, map[string]any{"url": "https://gitlab.com", "tokenType": TokenBearer}, true},
		{"scm without url", Spec, map[string]any{}, false},
		{"scm with a projectId", Spec, map[string]any{"url": "https://gitlab.com", "projectId": "1"}, false},
		{"a GitLabCIConfig example", CISpec, map[string]any{"url": "https://gitlab.example.com", "projectId": "mygroup/myapp", "defaultBranch": "main"}, true},
		{"ci without projectId", CISpec, map[string]any{"url": "https://gitlab.example.com"}, false},
		{"ci with a numeric projectId", CISpec, map[string]any{"url": "https://gitlab.example.com", "projectId": float64(42)}, false},
		{"unknown token type", CISpec, map[string]any{"url": "https://gitlab.example.com", "projectId": "1", "tokenType": "cookie"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.spec.ValidateConfig(tc.config); (err == nil) != tc.ok {
				t.Fatalf("ValidateConfig: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	reg := connectors.NewRegistry(Spec, CISpec)
	for alias, want := range map[string]*connectors.Spec{"gitlab": Spec, "GitLabServer": Spec, "gitlab-ci": CISpec} {
		if s, ok := reg.Lookup(alias); !ok || s != want {
			t.Fatalf("Lookup(%q) = %v", alias, s)
		}
	}
	if Spec.Category != connectors.CategorySCM || CISpec.Category != connectors.CategoryCICD {
		t.Fatal("categories")
	}
}

func TestNextQuery(t *testing.T) {
	t.Parallel()
	current := url.Values{"per_page": {"100"}, "order_by": {"id"}}
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"keyset link", http.Header{"Link": {`<https://gl.example/api/v4/projects?id_after=42&pagination=keyset>; rel="next"`}}, "id_after=42&pagination=keyset"},
		{"offset links", http.Header{"Link": {`<https://h/x?page=1>; rel="prev", <https://h/x?page=3>; rel="next", <https://h/x?page=9>; rel="last"`},
			"X-Next-Page": {"3"}}, "page=3"},
		{"X-Next-Page alone", http.Header{"X-Next-Page": {"4"}}, "order_by=id&page=4&per_page=100"},
		{"last page", http.Header{"Link": {`<https://h/x?page=1>; rel="first"`}, "X-Next-Page": {""}}, ""},
		{"nothing", http.Header{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ""
			q, err := nextQuery(tc.header, current)
			if err != nil {
				t.Fatal(err)
			}
			if q != nil {
				got = q.Encode()
			}
			if got != tc.want {
				t.Fatalf("next %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, name string
		ok            bool
	}{
		{"", "a/b", true}, {"team/*", "team/app", true}, {"team/*", "team/sub/app", false},
		{"app*", "team/app-1", true}, {"app*", "team/sub/app", true}, {"*/app", "team/app", true},
		{"team", "team/app", false}, {"release-*", "release-1", true},
	}
	for _, tc := range tests {
		p, err := kit.ParsePattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.MatchPath(tc.name); got != tc.ok {
			t.Errorf("matches(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}
