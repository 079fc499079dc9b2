package connectortest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// The suite is tested on a small provider ("fixture") with a fake server,
// once as written and once with each defect the suite exists to find: the
// defective runs must fail, with the subtest and message that name the
// defect. A failing run cannot happen inside this test's own *testing.T, so
// each runs as a child process of the test binary.

// defectEnv selects the fixture's defect in the child process.
const defectEnv = "CONNECTORTEST_FIXTURE_DEFECT"

func TestConformanceFindsDefects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		defect string
		want   []string // in the child's output; nil = the run passes
	}{
		{defect: "none"},
		{defect: "undeclared-capability", want: []string{"cases/capabilities", `implements capability "discover" but the spec does not declare it`}},
		{defect: "unimplemented-capability", want: []string{"cases/capabilities", `declares capability "notify" but the connector does not implement it`}},
		{defect: "429-as-upstream", want: []string{"cases/health/rate-limited", "want RATE_LIMITED"}},
		{defect: "lost-retry-after", want: []string{"cases/health/rate-limited", "want 7s carried"}},
		{defect: "auth-as-upstream", want: []string{"cases/health/authentication-failure", "want AUTHENTICATION_FAILED"}},
		{defect: "ignores-timeout", want: []string{"cases/health/timeout", "does not honour its timeout"}},
		{defect: "repeats-last-item", want: []string{"cases/discovery/items", "listed twice"}},
		{defect: "ignores-filter", want: []string{"cases/discovery/items", `pattern "b-*" selected 12 items, want 4`}},
	}
	for _, tc := range tests {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceFixture$", "-test.v")
			cmd.Env = append(os.Environ(), defectEnv+"="+tc.defect)
			out, err := cmd.CombinedOutput()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("the fixture without a defect fails the suite: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passed a fixture with defect %s:\n%s", tc.defect, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the failure does not say %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestConformanceFixture is the child process of TestConformanceFindsDefects.
func TestConformanceFixture(t *testing.T) {
	defect := os.Getenv(defectEnv)
	if defect == "" {
		t.Skip("run by TestConformanceFindsDefects in a child process")
	}
	spec := fixtureSpec(defect)
	connectortest.RunConformance(t, connectortest.Provider{
		Spec: spec,
		Start: func(t *testing.T) connectortest.Server {
			f := &fixtureServer{}
			srv := httptest.NewServer(f)
			t.Cleanup(srv.Close)
			return connectortest.Server{URL: srv.URL, RateLimit: func() { f.limited.Store(true) }}
		},
		Integration: func(base *url.URL, wrong bool) connectortest.Integration {
			token := fixtureToken
			if wrong {
				token = "fixture-wrong-token"
			}
			return connectortest.Integration{
				Config:        map[string]any{"url": base.String()},
				CredentialRef: connectortest.SecretRef("FIXTURE"),
				Secrets:       map[string]string{"FIXTURE": `{"token":"` + token + `"}`},
			}
		},
		Discovery: []connectortest.Discovery{{ResourceType: "items", PageSize: 5, Total: 12, NamePattern: "b-*", Matching: 4}},
	})
}

const fixtureToken = "fixture-good-token-0123"

// fixtureServer holds 12 items, a-00 … a-07 and b-08 … b-11, behind a
// bearer token, paged by offset; limited, it answers 429 Retry-After: 7.
type fixtureServer struct{ limited atomic.Bool }

func (f *fixtureServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.limited.Load() {
		w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+fixtureToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/items" {
		w.WriteHeader(http.StatusOK)
		return
	}
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	var names []string
	for i := offset; i < min(offset+limit, 12); i++ {
		prefix := "a"
		if i >= 8 {
			prefix = "b"
		}
		names = append(names, fmt.Sprintf("%s-%02d", prefix, i))
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"items": names, "total": 12})
}

func fixtureSpec(defect string) *connectors.Spec {
	s := &connectors.Spec{
		ID: "fixture", Name: "Fixture", Category: connectors.CategoryRegistry,
		Fields:          []connectors.Field{{Name: "url", Type: connectors.TypeURL, Required: true}},
		CredentialTypes: []string{connectors.CredToken},
		CheckLevels:     contracts.CheckTypes,
		ResourceTypes:   []string{"items"},
		Capabilities:    []connectors.Capability{connectors.CapCheck, connectors.CapDiscover},
		New: func(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
			return &fixture{in: in, defect: defect}, nil
		},
	}
	switch defect {
	case "undeclared-capability":
		s.Capabilities, s.ResourceTypes = []connectors.Capability{connectors.CapCheck}, nil
	case "unimplemented-capability":
		s.Capabilities = append(s.Capabilities, connectors.CapNotify)
	}
	return s
}

// fixture is the fixture's connector, with its defect.
type fixture struct {
	in     connectors.Instance
	defect string
}

func (c *fixture) Close() error { return nil }

func (c *fixture) CheckConnectivity(ctx context.Context) error { return c.get(ctx, "/", nil) }

func (c *fixture) CheckAuthentication(ctx context.Context) error { return c.get(ctx, "/me", nil) }

func (c *fixture) CheckFunctionality(ctx context.Context) error {
	return c.get(ctx, "/items?offset=0&limit=1", &struct{}{})
}

func (c *fixture) Discover(ctx context.Context, q connectors.DiscoveryQuery) (connectors.DiscoveryPage, error) {
	if q.ResourceType != "items" {
		return connectors.DiscoveryPage{}, resilience.New(resilience.NotSupported, "resource type %q", q.ResourceType)
	}
	offset, _ := strconv.Atoi(q.Cursor)
	var answer struct {
		Items []string `json:"items"`
		Total int      `json:"total"`
	}
	if err := c.get(ctx, fmt.Sprintf("/items?offset=%d&limit=%d", offset, q.PageSize), &answer); err != nil {
		return connectors.DiscoveryPage{}, err
	}
	page := connectors.DiscoveryPage{Items: []contracts.Resource{}}
	for _, n := range answer.Items {
		if ok, _ := path.Match(q.Filter.NamePattern, n); ok || q.Filter.NamePattern == "" || c.defect == "ignores-filter" {
			page.Items = append(page.Items, contracts.Resource{Type: "items", Name: n, ID: n})
		}
	}
	next := offset + len(answer.Items)
	if c.defect == "repeats-last-item" && offset == 0 {
		next-- // the second page starts with the first page's last item
	}
	if next < answer.Total && len(answer.Items) > 0 {
		page.NextCursor = strconv.Itoa(next)
	}
	return page, nil
}

func (c *fixture) get(ctx context.Context, p string, out any) error {
	sec, err := c.in.Credentials.Resolve(ctx, c.in.Integration.CredentialRef)
	if err != nil {
		return err
	}
	token, err := sec.Token()
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.in.Integration.Config["url"].(string)+p, nil)
	if err != nil {
		return resilience.Wrap(resilience.InvalidConfig, err, "request")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	do := c.in.HTTP.Do
	if c.defect == "ignores-timeout" {
		// The configured timeout dropped: only the caller's deadline ends
		// a call.
		do = (&http.Client{Transport: c.in.HTTP.HTTPClient().Transport}).Do
	}
	resp, err := do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	err = httpx.CheckResponse(resp, time.Now())
	switch code := resilience.CodeOf(err); {
	case c.defect == "429-as-upstream" && code == resilience.RateLimited,
		c.defect == "auth-as-upstream" && code == resilience.AuthenticationFailed:
		return resilience.New(resilience.UpstreamError, "HTTP %d", resp.StatusCode)
	case c.defect == "lost-retry-after" && code == resilience.RateLimited:
		return resilience.New(resilience.RateLimited, "HTTP %d", resp.StatusCode)
	case err != nil:
		return err
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
