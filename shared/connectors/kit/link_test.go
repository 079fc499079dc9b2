package kit_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestNextLink(t *testing.T) {
	t.Parallel()
	request, _ := url.Parse("https://api.example.com/v2/_catalog?n=10")
	tests := []struct {
		name  string
		links []string
		want  string // "" = last page
		code  resilience.Code
	}{
		{"none", nil, "", ""},
		{"absolute", []string{`<https://api.example.com/v2/_catalog?last=b&n=10>; rel="next"`}, "https://api.example.com/v2/_catalog?last=b&n=10", ""},
		{"relative resolved against the request", []string{`</v2/_catalog?last=b&n=10>; rel="next"`}, "https://api.example.com/v2/_catalog?last=b&n=10", ""},
		{"relative without a leading slash", []string{`<_catalog?last=c>; rel=next`}, "https://api.example.com/v2/_catalog?last=c", ""},
		{"several rels in one header", []string{`<https://api.example.com/x?page=1>; rel="first", <https://api.example.com/x?page=3>; rel="next", <https://api.example.com/x?page=9>; rel="last"`},
			"https://api.example.com/x?page=3", ""},
		{"several headers", []string{`<https://api.example.com/x?page=1>; rel="prev"`, `<https://api.example.com/x?page=3>; rel="next"`}, "https://api.example.com/x?page=3", ""},
		{"rel list", []string{`<https://api.example.com/x?page=2>; rel="next last"`}, "https://api.example.com/x?page=2", ""},
		{"rel case", []string{`<https://api.example.com/x?page=2>; REL="Next"`}, "https://api.example.com/x?page=2", ""},
		{"quoted params with commas and semicolons", []string{`<https://api.example.com/x?page=1>; title="a, b; <c>"; rel="prev", <https://api.example.com/x?page=4>; rel="next"`},
			"https://api.example.com/x?page=4", ""},
		{"escaped quote", []string{`<https://api.example.com/x?page=1>; title="say \"next\""; rel=prev, </x?page=5>; rel=next`}, "https://api.example.com/x?page=5", ""},
		{"first rel wins", []string{`<https://api.example.com/x?page=6>; rel="prev"; rel="next"`}, "", ""},
		{"no next", []string{`<https://api.example.com/x?page=1>; rel="prev"`}, "", ""},
		{"malformed", []string{`https://api.example.com/x; rel=next`}, "", ""},
		{"other host refused", []string{`<https://evil.example/x?page=2>; rel="next"`}, "", resilience.UpstreamError},
		{"other scheme refused", []string{`<http://api.example.com/x?page=2>; rel="next"`}, "", resilience.UpstreamError},
		{"other port refused", []string{`<https://api.example.com:8443/x?page=2>; rel="next"`}, "", resilience.UpstreamError},
		{"protocol-relative to another host refused", []string{`<//evil.example/x>; rel="next"`}, "", resilience.UpstreamError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Link": tc.links}
			next, err := kit.NextLink(h, request)
			connectortest.CheckCode(t, err, tc.code)
			got := ""
			if next != nil {
				got = next.String()
			}
			if got != tc.want {
				t.Fatalf("NextLink = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNextQueryIgnoresTheHost: a connector sends the next query to its own
// endpoint, so the host a link names (a proxy's internal name, GitHub's
// /repositories/<id>/ paths) never matters and is never contacted.
func TestNextQueryIgnoresTheHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		link string
		want string
	}{
		{"same host", `<https://api.example.com/x?page=2&per_page=100>; rel="next"`, "page=2&per_page=100"},
		{"internal host", `<http://registry:5000/v2/_catalog?last=b&n=1>; rel="next"`, "last=b&n=1"},
		{"relative", `</v2/_catalog?last=c>; rel="next"`, "last=c"},
		{"last page", `<https://api.example.com/x?page=1>; rel="first"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := kit.NextQuery(http.Header{"Link": {tc.link}})
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Encode(); got != tc.want || (tc.want == "" && q != nil) {
				t.Fatalf("NextQuery = %q (%v), want %q", got, q, tc.want)
			}
		})
	}
	_, err := kit.NextQuery(http.Header{"Link": {`<https://api.example.com/x?a=%zz>; rel="next"`}})
	connectortest.CheckCode(t, err, resilience.UpstreamError)
}

func TestBearerChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, realm, scope string
		ok                         bool
	}{
		{"registry", `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`, "https://auth.example/token", "repository:a/b:pull", true},
		{"after basic", `Basic realm="x", Bearer realm="https://a.example/t", scope="s t"`, "https://a.example/t", "s t", true},
		{"basic only", `Basic realm="x"`, "", "", false},
		{"bearer without realm", `Bearer error="invalid_token"`, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch, ok := kit.BearerChallenge(http.Header{"Www-Authenticate": {tc.header}})
			if ok != tc.ok || ch.Params["realm"] != tc.realm || ch.Params["scope"] != tc.scope {
				t.Fatalf("BearerChallenge = %+v, %v", ch, ok)
			}
		})
	}
}
