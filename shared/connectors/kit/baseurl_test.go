package kit_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		opts      []kit.URLOption
		want      string // "" = refused with INVALID_CONFIG
	}{
		{"plain host", "https://api.example.com", nil, "https://api.example.com"},
		{"trailing slash dropped", "https://api.example.com/", nil, "https://api.example.com"},
		{"prefix kept", "https://git.example.com/gitlab/", nil, "https://git.example.com/gitlab"},
		{"several trailing slashes", "https://git.example.com/gitlab//", nil, "https://git.example.com/gitlab"},
		{"escaped prefix kept", "https://h.example/a%2Fb/", nil, "https://h.example/a%2Fb"},
		{"http allowed", "http://127.0.0.1:8080", nil, "http://127.0.0.1:8080"},
		{"port kept", "https://h.example:8443/x", nil, "https://h.example:8443/x"},
		{"surrounding space", " https://h.example ", nil, "https://h.example"},
		{"empty", "", nil, ""},
		{"relative", "api.example.com", nil, ""},
		{"no host", "https:///path", nil, ""},
		{"ftp", "ftp://h.example", nil, ""},
		{"user info", "https://u:p@h.example", nil, ""},
		{"user only", "https://u@h.example", nil, ""},
		{"query", "https://h.example/?x=1", nil, ""},
		{"empty query", "https://h.example/?", nil, ""},
		{"fragment", "https://h.example/#x", nil, ""},
		{"https only refuses http", "http://h.example", []kit.URLOption{kit.HTTPSOnly()}, ""},
		{"https only takes https", "https://h.example/", []kit.URLOption{kit.HTTPSOnly()}, "https://h.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := kit.ParseBaseURL("url", tc.raw, tc.opts...)
			if tc.want == "" {
				if resilience.CodeOf(err) != resilience.InvalidConfig {
					t.Fatalf("ParseBaseURL(%q) = %v, %v; want INVALID_CONFIG", tc.raw, u, err)
				}
				if !strings.Contains(err.Error(), `config field "url"`) {
					t.Fatalf("error does not name the field: %v", err)
				}
				if strings.Contains(tc.raw, "u:p") && strings.Contains(err.Error(), "u:p") {
					t.Fatalf("error quotes the URL: %v", err)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Fatalf("ParseBaseURL(%q) = %v, %v; want %s", tc.raw, u, err, tc.want)
			}
		})
	}
}

func TestParseTargetURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		opts      []kit.URLOption
		want      string
	}{
		{"query and path kept", "https://hooks.example/x/?a=1", nil, "https://hooks.example/x/?a=1"},
		{"fragment refused", "https://hooks.example/x#f", nil, ""},
		{"user info refused", "https://a:b@hooks.example/x", nil, ""},
		{"named secret URL", "http://hooks.example/secret-path", []kit.URLOption{kit.HTTPSOnly(), kit.Named("the Teams webhook URL")}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := kit.ParseTargetURL("url", tc.raw, tc.opts...)
			if tc.want == "" {
				if resilience.CodeOf(err) != resilience.InvalidConfig || strings.Contains(err.Error(), "secret-path") {
					t.Fatalf("ParseTargetURL(%q) = %v, %v", tc.raw, u, err)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Fatalf("ParseTargetURL(%q) = %v, %v; want %s", tc.raw, u, err, tc.want)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	base := func(s string) *url.URL {
		u, err := kit.ParseBaseURL("url", s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name  string
		base  string
		path  string
		query url.Values
		want  string
	}{
		{"root", "https://h.example", "/v2/", nil, "https://h.example/v2/"},
		{"under a prefix", "https://h.example/gitlab/", "/api/v4/version", nil, "https://h.example/gitlab/api/v4/version"},
		{"escaped segment stays one", "https://h.example/api/v4", kit.Segments("projects", "g/sub/app"), nil,
			"https://h.example/api/v4/projects/g%2Fsub%2Fapp"},
		{"segments escape ? and #", "https://h.example", kit.Segments("job", "a?b#c"), nil, "https://h.example/job/a%3Fb%23c"},
		{"query encoded", "https://h.example", "/x", url.Values{"b": {"2"}, "a": {"1 2"}}, "https://h.example/x?a=1+2&b=2"},
		{"escaped base prefix kept", "https://h.example/a%2Fb", "/x", nil, "https://h.example/a%2Fb/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := kit.Endpoint(base(tc.base), tc.path, tc.query); got != tc.want {
				t.Fatalf("Endpoint = %s, want %s", got, tc.want)
			}
		})
	}
}
