package dockerregistry

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   []challenge
	}{
		{"docker hub", []string{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"`},
			[]challenge{{"Bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/nginx:pull"}}}},
		{"basic", []string{`Basic realm="Registry Realm"`}, []challenge{{"Basic", map[string]string{"realm": "Registry Realm"}}}},
		{"two in one header, spaces and an escape", []string{`Basic realm="a\"b" , Bearer realm=https://h/token, service = reg`},
			[]challenge{{"Basic", map[string]string{"realm": `a"b`}}, {"Bearer", map[string]string{"realm": "https://h/token", "service": "reg"}}}},
		{"two headers", []string{`Basic realm="x"`, `Bearer realm="y",scope="a b"`},
			[]challenge{{"Basic", map[string]string{"realm": "x"}}, {"Bearer", map[string]string{"realm": "y", "scope": "a b"}}}},
		{"scheme only", []string{"Negotiate"}, []challenge{{"Negotiate", map[string]string{}}}},
		{"empty", []string{""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseChallenges(tc.values)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].scheme != tc.want[i].scheme || !maps.Equal(got[i].params, tc.want[i].params) {
					t.Fatalf("challenge %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestNextQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		links []string
		want  string // encoded query; "" = no next page
	}{
		{"distribution", []string{`</v2/_catalog?last=b&n=2>; rel="next"`}, "last=b&n=2"},
		{"absolute and unquoted", []string{`<https://r.example/v2/x/tags/list?last=v9&n=50>; rel=next`}, "last=v9&n=50"},
		{"prev then next", []string{`</v2/_catalog?last=a>; rel="prev", </v2/_catalog?last=z>; rel="next"`}, "last=z"},
		{"rel list", []string{`</v2/_catalog?page=3>; title="x"; rel="last next"`}, "page=3"},
		{"only prev", []string{`</v2/_catalog?last=a>; rel="prev"`}, ""},
		{"none", nil, ""},
		{"garbage", []string{`>oops<`}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := nextQuery(http.Header{"Link": tc.links})
			got := ""
			if q != nil {
				got = q.Encode()
			}
			if got != tc.want {
				t.Fatalf("next query %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		next url.Values
		want string // the query the next Discover starts from, before its own n
	}{
		{"last and n", url.Values{"last": {"team/app"}, "n": {"7"}}, "last=team%2Fapp"},
		{"n alone still continues", url.Values{"n": {"7"}}, "n="},
		{"a registry's own parameter", url.Values{"page": {"2"}}, "page=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cursor := encodeCursor(tc.next)
			if cursor == "" {
				t.Fatal("empty cursor for a next page")
			}
			got, err := decodeCursor(cursor)
			if err != nil || got.Encode() != tc.want {
				t.Fatalf("round trip: %q, %v; want %q", got.Encode(), err, tc.want)
			}
		})
	}
	for _, bad := range []string{"%%%", "!", string(make([]byte, maxCursorLength+1))} {
		if _, err := decodeCursor(bad); resilience.CodeOf(err) != resilience.InvalidConfig {
			t.Fatalf("decodeCursor(%.10q) = %v, want INVALID_CONFIG", bad, err)
		}
	}
}

func TestValidRepository(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"app", true}, {"myorg/my-app", true}, {"a/b/c.d__e", true}, {"a--b", true},
		{"", false}, {"App", false}, {"../etc", false}, {"a//b", false}, {"a/", false},
		{"-a", false}, {"a?n=1", false}, {"a:tag", false}, {"a/%2e%2e", false},
	}
	for _, tc := range tests {
		if got := validRepository(tc.name); got != tc.ok {
			t.Errorf("validRepository(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestNewRefusesConfigsThatCannotWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
	}{
		{"no url", map[string]any{}},
		{"relative url", map[string]any{"url": "registry.example.com"}},
		{"ftp url", map[string]any{"url": "ftp://registry.example.com"}},
		{"user info", map[string]any{"url": "https://u:p@registry.example.com"}},
		{"query", map[string]any{"url": "https://registry.example.com/?x=1"}},
		{"bad default repository", map[string]any{"url": "https://registry.example.com", "repository": "My App"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.config}})
			if resilience.CodeOf(err) != resilience.InvalidConfig {
				t.Fatalf("New: %v, want INVALID_CONFIG", err)
			}
		})
	}
	c, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: map[string]any{"url": "https://r.example/prefix/"}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	if got := c.(*Connector).endpoint("/v2/_catalog", url.Values{"n": {"1"}}).String(); got != "https://r.example/prefix/v2/_catalog?n=1" {
		t.Fatalf("endpoint under a prefix: %s", got)
	}
}
