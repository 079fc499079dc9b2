package gitlab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"

	"github.com/stella-ops/inthub/shared/connectors/scm/gitlab/gitlabfake"
)

// level runs one check level of a connector.
func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ci     bool
		level  contracts.CheckType
		secret string
		config map[string]any
		noRef  bool
		want   resilience.Code
		route  string // the route the check calls
		calls  int    // calls of route the fake saw
	}{
		{name: "connectivity without a token", level: contracts.CheckConnectivity, noRef: true, route: "GET /version", calls: 1},
		{name: "connectivity never sends the token", level: contracts.CheckConnectivity, secret: "glpat-wrong-0000000000", route: "GET /version", calls: 1},
		{name: "authentication with PRIVATE-TOKEN", level: contracts.CheckAuthentication, secret: gitlabfake.PatAPI, route: "GET /user", calls: 1},
		{name: "authentication with a read_user token", level: contracts.CheckAuthentication, secret: gitlabfake.PatReadUser, route: "GET /user", calls: 1},
		{name: "authentication with a token as Bearer", level: contracts.CheckAuthentication, secret: gitlabfake.PatReadAPI,
			config: map[string]any{"tokenType": TokenBearer}, route: "GET /user", calls: 1},
		{name: "authentication with an OAuth2 token as Bearer", level: contracts.CheckAuthentication, secret: `{"access_token":"` + gitlabfake.OAuthToken + `"}`,
			config: map[string]any{"tokenType": TokenBearer}, route: "GET /user", calls: 1},
		{name: "an OAuth2 token in PRIVATE-TOKEN is refused", level: contracts.CheckAuthentication, secret: gitlabfake.OAuthToken,
			want: resilience.AuthenticationFailed, route: "GET /user", calls: 1},
		{name: "wrong token", level: contracts.CheckAuthentication, secret: "glpat-wrong-0000000000",
			want: resilience.AuthenticationFailed, route: "GET /user", calls: 1},
		{name: "wrong token as Bearer", level: contracts.CheckAuthentication, secret: "glpat-wrong-0000000000",
			config: map[string]any{"tokenType": TokenBearer}, want: resilience.AuthenticationFailed, route: "GET /user", calls: 1},
		{name: "no token", level: contracts.CheckAuthentication, noRef: true, want: resilience.AuthenticationFailed, route: "GET /user", calls: 1},
		{name: "unset variable", level: contracts.CheckAuthentication, want: resilience.CredentialFetchFailed, route: "GET /user", calls: 0},
		{name: "secret without a token", level: contracts.CheckAuthentication, secret: `{"username":"u","password":"p"}`,
			want: resilience.InvalidConfig, route: "GET /user", calls: 0},
		{name: "functionality lists one project", level: contracts.CheckFunctionality, secret: gitlabfake.PatReadAPI, route: "GET /projects", calls: 1},
		{name: "functionality with a wrong token", level: contracts.CheckFunctionality, secret: "glpat-wrong-0000000000",
			want: resilience.AuthenticationFailed, route: "GET /projects", calls: 1},
		{name: "functionality with a read_user token", level: contracts.CheckFunctionality, secret: gitlabfake.PatReadUser,
			want: resilience.PermissionDenied, route: "GET /projects", calls: 1},
		{name: "ci connectivity", ci: true, level: contracts.CheckConnectivity, noRef: true, route: "GET /version", calls: 1},
		{name: "ci authentication", ci: true, level: contracts.CheckAuthentication, secret: gitlabfake.PatAPI, route: "GET /user", calls: 1},
		{name: "ci wrong token", ci: true, level: contracts.CheckAuthentication, secret: "glpat-wrong-0000000000",
			want: resilience.AuthenticationFailed, route: "GET /user", calls: 1},
		{name: "ci functionality lists one pipeline", ci: true, level: contracts.CheckFunctionality, secret: gitlabfake.PatReadAPI,
			route: "GET /projects/:id/pipelines", calls: 1},
		{name: "ci functionality of an unknown project", ci: true, level: contracts.CheckFunctionality, secret: gitlabfake.PatAPI,
			config: map[string]any{"projectId": "team/nope"}, want: resilience.ResourceNotFound, route: "GET /projects/:id/pipelines", calls: 1},
		{name: "ci functionality by numeric id", ci: true, level: contracts.CheckFunctionality, secret: gitlabfake.PatAPI,
			config: map[string]any{"projectId": "1"}, route: "GET /projects/:id/pipelines", calls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := gitlabfake.New(t)
			f.AddCIProject(3, 3)
			s := setup{url: f.URL(), config: tc.config, secret: tc.secret, noRef: tc.noRef}
			var c connectors.Checker
			if tc.ci {
				c = newCI(t, s)
			} else {
				c = newSCM(t, s)
			}
			// Under the hub's retry loop: a refused token must not be retried.
			timer, err := retry(t, connectortest.Level(tc.level, c))
			checkCode(t, err, tc.want)
			if n := f.Count(tc.route); n != tc.calls {
				t.Fatalf("%s called %d times, want %d", tc.route, n, tc.calls)
			}
			if tc.want == resilience.AuthenticationFailed && len(timer.Waits()) != 0 {
				t.Fatalf("an authentication failure was retried after %v", timer.Waits())
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	f := gitlabfake.New(t)
	f.AddProjects(250)
	f.AddCIProject(250, 120)
	members := func(keep func(string) bool) []string {
		var out []string
		for i := range 250 {
			team := "team-a"
			if i >= 125 {
				team = "team-b"
			}
			if name := fmt.Sprintf("%s/svc-%03d", team, i); keep(name) {
				out = append(out, name)
			}
		}
		return out
	}
	all := append(members(func(string) bool { return true }), "team/app")
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name     string
		ci       bool
		q        query
		want     []string // in order
		count    int      // when want is nil: how many
		pages    []int
		route    string
		requests int
		code     resilience.Code
	}{
		{name: "projects in pages of 100", q: query{ResourceType: ResourceProjects},
			want: all, pages: []int{100, 100, 51}, route: "GET /projects", requests: 3},
		{name: "repositories with a small page size", q: query{ResourceType: ResourceRepositories, PageSize: 40},
			want: all, pages: []int{40, 40, 40, 40, 40, 40, 11}, route: "GET /projects", requests: 8},
		{name: "projects of a namespace", q: query{ResourceType: ResourceProjects, Filter: filter{NamePattern: "team-b/*"}},
			want: members(func(n string) bool { return strings.HasPrefix(n, "team-b/") }), pages: []int{100, 25}, route: "GET /projects", requests: 4},
		{name: "a pattern without a slash matches the project path", q: query{ResourceType: ResourceProjects, Filter: filter{NamePattern: "svc-1?0"}},
			want: []string{"team-a/svc-100", "team-a/svc-110", "team-a/svc-120", "team-b/svc-130", "team-b/svc-140", "team-b/svc-150",
				"team-b/svc-160", "team-b/svc-170", "team-b/svc-180", "team-b/svc-190"}, pages: []int{10}, route: "GET /projects", requests: 3},
		{name: "pipelines in pages of 100", ci: true, q: query{ResourceType: ResourcePipelines},
			count: 250, pages: []int{100, 100, 50}, route: "GET /projects/:id/pipelines", requests: 3},
		{name: "pipelines of release refs", ci: true, q: query{ResourceType: ResourcePipelines, PageSize: 30, Filter: filter{NamePattern: "release-*"}},
			count: 50, pages: []int{30, 20}, route: "GET /projects/:id/pipelines", requests: 4},
		{name: "jobs", ci: true, q: query{ResourceType: ResourceJobs}, count: 120, pages: []int{100, 20}, route: "GET /projects/:id/jobs", requests: 2},
		{name: "test jobs of another project by path", ci: true,
			q:     query{ResourceType: ResourceJobs, Filter: filter{Repository: "team/app", NamePattern: "test-*"}},
			count: 60, pages: []int{60}, route: "GET /projects/:id/jobs", requests: 2},
		{name: "jobs of an unknown project", ci: true, q: query{ResourceType: ResourceJobs, Filter: filter{Repository: "team/nope"}},
			code: resilience.ResourceNotFound},
		{name: "a project that is not a path", ci: true, q: query{ResourceType: ResourceJobs, Filter: filter{Repository: "../admin"}},
			code: resilience.InvalidConfig},
		{name: "pipelines from the scm role", q: query{ResourceType: ResourcePipelines}, code: resilience.NotSupported},
		{name: "projects from the ci role", ci: true, q: query{ResourceType: ResourceProjects}, code: resilience.NotSupported},
		{name: "bad cursor", q: query{ResourceType: ResourceProjects, Cursor: "%%%"}, code: resilience.InvalidConfig},
		{name: "bad pattern", q: query{ResourceType: ResourceProjects, Filter: filter{NamePattern: "team-["}}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// One fake per case keeps call counts apart; the content is
			// rebuilt the same way.
			f := gitlabfake.New(t)
			f.AddProjects(250)
			f.AddCIProject(250, 120)
			s := setup{url: f.URL(), secret: gitlabfake.PatReadAPI}
			var d connectors.Discoverer
			if tc.ci {
				d = newCI(t, s)
			} else {
				d = newSCM(t, s)
			}
			got, err := discoverAll(t, d, tc.q)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if tc.want != nil && !slices.Equal(got.Names, tc.want) {
				t.Fatalf("discovered %d names %v…, want %d", len(got.Names), got.Names[:min(5, len(got.Names))], len(tc.want))
			}
			if tc.want == nil && len(got.Names) != tc.count {
				t.Fatalf("discovered %d, want %d", len(got.Names), tc.count)
			}
			if !slices.Equal(got.PageSizes, tc.pages) {
				t.Fatalf("page sizes %v, want %v", got.PageSizes, tc.pages)
			}
			if n := f.Count(tc.route); n != tc.requests {
				t.Fatalf("%s called %d times, want %d", tc.route, n, tc.requests)
			}
			ids := map[string]bool{}
			for _, r := range got.Resources {
				if r.Type != tc.q.ResourceType || r.ID == "" || ids[r.ID] {
					t.Fatalf("resource %+v: wrong type, no id or a duplicate", r)
				}
				ids[r.ID] = true
			}
		})
	}
	t.Run("resource shapes", func(t *testing.T) {
		t.Parallel()
		c := newSCM(t, setup{url: f.URL(), secret: gitlabfake.PatReadAPI})
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceRepositories, PageSize: 1})
		checkCode(t, err, "")
		r := page.Items[0]
		want := map[string]any{"projectId": "1", "defaultBranch": "main", "httpUrl": f.URL() + "/team-a/svc-000.git",
			"sshUrl": "git@fake:team-a/svc-000.git", "webUrl": f.URL() + "/team-a/svc-000"}
		if r.Name != "team-a/svc-000" || r.ID != "1" || fmt.Sprint(r.Attributes) != fmt.Sprint(want) {
			t.Fatalf("repository %+v, want attributes %v", r, want)
		}
		ci := newCI(t, setup{url: f.URL(), secret: gitlabfake.PatReadAPI})
		page, err = ci.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourcePipelines, PageSize: 1})
		checkCode(t, err, "")
		if p := page.Items[0]; p.Name != "release-1" || p.ID != "1250" || p.Attributes["status"] != "success" || p.Attributes["project"] != "team/app" {
			t.Fatalf("pipeline %+v", p)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Parallel()
		c := newSCM(t, setup{url: f.URL(), secret: "glpat-wrong-0000000000"})
		_, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceProjects})
		checkCode(t, err, resilience.AuthenticationFailed)
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ci    bool
		route string
		op    func(connectors.Connector) func(context.Context) error
	}{
		{"authentication", false, "GET /user", func(c connectors.Connector) func(context.Context) error {
			return c.(connectors.Checker).CheckAuthentication
		}},
		{"discovery", false, "GET /projects", func(c connectors.Connector) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := c.(connectors.Discoverer).Discover(ctx, connectors.DiscoveryQuery{ResourceType: ResourceProjects})
				return err
			}
		}},
		{"trigger", true, "POST /projects/:id/pipeline", func(c connectors.Connector) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := c.(connectors.Triggerer).Trigger(ctx, "", "main", nil)
				return err
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := gitlabfake.New(t)
			f.AddCIProject(1, 1)
			var c connectors.Connector
			if tc.ci {
				c = newCI(t, setup{url: f.URL(), secret: gitlabfake.PatAPI})
			} else {
				c = newSCM(t, setup{url: f.URL(), secret: gitlabfake.PatAPI})
			}
			op := tc.op(c)

			f.Throttle(tc.route, 7, 1)
			err := op(ctxT(t))
			connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)

			f.Throttle(tc.route, 7, 1)
			connectortest.CheckRetried(t, op, []time.Duration{7 * time.Second}, allSecrets...)
			if n := f.Count(tc.route); n != 3 {
				t.Fatalf("%s called %d times, want 3 (429, 429, 2xx)", tc.route, n)
			}
		})
	}
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   map[string]any
		secret   string
		pipeline string
		ref      string
		params   map[string]string
		want     resilience.Code
		wantRef  string
		wantVars []gitlabfake.Variable
		calls    int // POST calls
	}{
		{name: "ref and variables", ref: "release-1", secret: gitlabfake.PatAPI, params: map[string]string{"TARGET": "prod", "DRY_RUN": "false"},
			wantRef: "release-1", wantVars: []gitlabfake.Variable{{Key: "DRY_RUN", Value: "false", VariableType: "env_var"}, {Key: "TARGET", Value: "prod", VariableType: "env_var"}}, calls: 1},
		{name: "configured default branch", config: map[string]any{"defaultBranch": "release-2"}, secret: gitlabfake.PatAPI, wantRef: "release-2", calls: 1},
		{name: "the project's default branch", secret: gitlabfake.PatAPI, wantRef: "main", calls: 1},
		{name: "as an OAuth2 token", config: map[string]any{"tokenType": TokenBearer}, secret: gitlabfake.OAuthToken, ref: "main", wantRef: "main", calls: 1},
		{name: "another project by path", pipeline: "team/app", secret: gitlabfake.PatAPI, ref: "main", wantRef: "main", calls: 1},
		{name: "unknown ref", ref: "nope", secret: gitlabfake.PatAPI, want: resilience.InvalidConfig, calls: 1},
		{name: "read-only token", ref: "main", secret: gitlabfake.PatReadAPI, want: resilience.PermissionDenied, calls: 1},
		{name: "wrong token", ref: "main", secret: "glpat-wrong-0000000000", want: resilience.AuthenticationFailed, calls: 1},
		{name: "bad variable key, refused before sending", ref: "main", secret: gitlabfake.PatAPI, params: map[string]string{"BAD-KEY": "x"},
			want: resilience.InvalidConfig, calls: 0},
		{name: "a pipeline that is not a project", pipeline: "a/../b", secret: gitlabfake.PatAPI, want: resilience.InvalidConfig, calls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := gitlabfake.New(t)
			f.AddCIProject(1, 1)
			c := newCI(t, setup{url: f.URL(), config: tc.config, secret: tc.secret})
			id, err := c.Trigger(ctxT(t), tc.pipeline, tc.ref, tc.params)
			checkCode(t, err, tc.want)
			if n := f.Count("POST /projects/:id/pipeline"); n != tc.calls {
				t.Fatalf("%d POSTs, want %d", n, tc.calls)
			}
			if tc.want != "" {
				return
			}
			got := f.PipelinesCreated()
			if len(got) != 1 || id.ID != "9000" || id.Ref != tc.wantRef || !strings.HasSuffix(id.WebURL, "/-/pipelines/9000") || got[0].Ref != tc.wantRef || !slices.Equal(got[0].Variables, tc.wantVars) {
				t.Fatalf("created %+v with id %q, want ref %s and variables %v", got, id, tc.wantRef, tc.wantVars)
			}
		})
	}
}

func TestNewRefusesConfigsThatCannotWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   *connectors.Spec
		config map[string]any
	}{
		{"no url", Spec, map[string]any{}},
		{"relative url", Spec, map[string]any{"url": "gitlab.example.com"}},
		{"user info", Spec, map[string]any{"url": "https://u:p@gitlab.example.com"}},
		{"bad token type", Spec, map[string]any{"url": "https://gitlab.example.com", "tokenType": "basic"}},
		{"ci without project", CISpec, map[string]any{"url": "https://gitlab.example.com"}},
		{"ci with a bad project", CISpec, map[string]any{"url": "https://gitlab.example.com", "projectId": "../x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.spec.New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.config}, HTTP: connectortest.HTTP(t, nil, nil)})
			checkCode(t, err, resilience.InvalidConfig)
		})
	}
	c, err := NewCI(context.Background(), connectors.Instance{Integration: contracts.Integration{
		Config: map[string]any{"url": "https://git.example.com/gitlab/", "projectId": "g/sub/app"}}, HTTP: connectortest.HTTP(t, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.(*CIConnector).api.String() + projectPath("g/sub/app"); got != "https://git.example.com/gitlab/api/v4/projects/g%2Fsub%2Fapp" {
		t.Fatalf("project URL under a relative root: %s", got)
	}
}

func TestFollowRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		verdict  string
		cancelAt contracts.PipelineRunStatus
		want     []contracts.PipelineRunStatus
	}{
		{name: "to success", want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded}},
		{name: "to failure", verdict: "failed", want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed}},
		{name: "cancelled", cancelAt: contracts.RunQueued, want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := gitlabfake.New(t)
			f.AddCIProject(1, 1)
			f.SetVerdict(tc.verdict)
			c := newCI(t, setup{url: f.URL(), secret: gitlabfake.PatAPI})
			run, err := c.Trigger(ctxT(t), "", "main", map[string]string{"TARGET": "prod"})
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, func(st connectors.RunState) {
				if len(st.Jobs) != 2 || st.Jobs[0].Name != "compile" || st.Jobs[1].Stage != "test" {
					t.Fatalf("jobs %+v, want compile then unit", st.Jobs)
				}
			})
			if !slices.Equal(got.Seen, tc.want) {
				t.Fatalf("states %v, want %v", got.Seen, tc.want)
			}
		})
	}
	t.Run("cancel needs the api scope", func(t *testing.T) {
		t.Parallel()
		f := gitlabfake.New(t)
		f.AddCIProject(1, 1)
		run, err := newCI(t, setup{url: f.URL(), secret: gitlabfake.PatAPI}).Trigger(ctxT(t), "", "main", nil)
		checkCode(t, err, "")
		ro := newCI(t, setup{url: f.URL(), secret: gitlabfake.PatReadAPI})
		checkCode(t, ro.CancelRun(ctxT(t), run), resilience.PermissionDenied)
		_, err = ro.RunStatus(ctxT(t), connectors.RunRef{ID: "123456"})
		checkCode(t, err, resilience.ResourceNotFound)
		_, err = ro.RunStatus(ctxT(t), connectors.RunRef{ID: "../x"})
		checkCode(t, err, resilience.InvalidConfig)
	})
	t.Run("rate limited", func(t *testing.T) {
		t.Parallel()
		f := gitlabfake.New(t)
		f.AddCIProject(1, 1)
		c := newCI(t, setup{url: f.URL(), secret: gitlabfake.PatAPI})
		run, err := c.Trigger(ctxT(t), "", "main", nil)
		checkCode(t, err, "")
		f.Throttle("GET /projects/:id/pipelines/:pipeline_id", 7, 1)
		_, err = c.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
	})
}
