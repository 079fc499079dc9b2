package circleci

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/circlecifake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		level   contracts.CheckType
		project string
		secret  string
		want    resilience.Code
		route   string
	}{
		{name: "connectivity: CircleCI's 401 to anonymous", level: contracts.CheckConnectivity, route: "GET me"},
		{name: "authentication", level: contracts.CheckAuthentication, route: "GET me"},
		{name: "authentication with a bare value", level: contracts.CheckAuthentication, secret: circlecifake.Token, route: "GET me"},
		{name: "an unknown token", level: contracts.CheckAuthentication, secret: tokenJSON("CCIPAT_nope_000000000000000000000000000000000000000000000000000000000"),
			want: resilience.AuthenticationFailed, route: "GET me"},
		{name: "functionality", level: contracts.CheckFunctionality, route: "GET project"},
		{name: "a project the user may not see", level: contracts.CheckFunctionality, secret: tokenJSON(circlecifake.OtherToken),
			want: resilience.ResourceNotFound, route: "GET project"},
		{name: "an unknown project", level: contracts.CheckFunctionality, project: "gh/acme/nope", want: resilience.ResourceNotFound, route: "GET project"},
		{name: "a token that is not a token", level: contracts.CheckAuthentication, secret: `{"username":"u","password":"p"}`,
			want: resilience.InvalidConfig, route: "GET me"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := circlecifake.Start(t)
			c := newConnector(t, f, setup{project: tc.project, secret: tc.secret})
			err := connectortest.Level(tc.level, c)(ctxT(t))
			checkCode(t, err, tc.want)
			calls := 1
			if tc.want == resilience.InvalidConfig {
				calls = 0
			}
			if n := f.Count(tc.route); n != calls {
				t.Fatalf("%s called %d times, want %d", tc.route, n, calls)
			}
		})
	}
}

func TestConnectivityRefusesWhatIsNotCircleCI(t *testing.T) {
	t.Parallel()
	connectortest.CheckAnswers(t, connectortest.Setup{Spec: Spec, EnvVar: credEnv, Secret: tokenJSON(circlecifake.Token),
		Config: map[string]any{"projectSlug": circlecifake.Project}}, allSecrets,
		connectortest.Answer{Name: "a web page", Status: http.StatusOK, Body: "<html></html>", Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a login wall", Status: http.StatusUnauthorized, Body: "Unauthorized", Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a redirect nobody followed", Status: http.StatusNotModified, Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a proxy error", Status: http.StatusBadGateway, Want: resilience.UpstreamError},
		connectortest.Answer{Name: "nothing there", Status: http.StatusNotFound, Want: resilience.ResourceNotFound})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name     string
		q        query
		first    string
		count    int
		pages    []int
		route    string
		requests int // CircleCI pages read, followed by next_page_token
		code     resilience.Code
	}{
		{name: "pipelines, newest first", q: query{ResourceType: ResourcePipelines}, first: "130", count: 130, pages: []int{100, 30},
			route: "GET pipelines", requests: 5 + 2},
		{name: "pipelines by branch", q: query{ResourceType: ResourcePipelines, PageSize: 20, Filter: filter{NamePattern: "release/*"}}, first: "130", count: 30,
			pages: []int{20, 10}, route: "GET pipelines", requests: 5 + 2},
		{name: "workflows by name", q: query{ResourceType: ResourceWorkflows, PageSize: 10}, first: "build-deploy", count: 42,
			// Pages of 20: the second and fourth discovery pages end where
			// CircleCI's do, and the next starts on the following one.
			pages: []int{10, 10, 10, 10, 2}, route: "GET insights", requests: 5},
		{name: "unknown resource type", q: query{ResourceType: "jobs"}, code: resilience.NotSupported},
		{name: "bad cursor", q: query{ResourceType: ResourcePipelines, Cursor: "eyJxIjoienoifQ"}, code: resilience.InvalidConfig},
		{name: "a page token CircleCI did not issue", q: query{ResourceType: ResourcePipelines, Cursor: "eyJxIjoiNmU2ZjcwNjUifQ"}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := circlecifake.Start(t)
			f.AddPipelines(100, "main")
			f.AddPipelines(30, "release/1.0")
			for i := range 40 {
				f.AddWorkflowNames(fmt.Sprintf("svc-%02d", i))
			}
			c := newConnector(t, f, setup{})
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if len(got.Names) != tc.count || got.Names[0] != tc.first || !slices.Equal(got.PageSizes, tc.pages) {
				t.Fatalf("discovered %d names from %q in pages %v, want %d from %q in %v", len(got.Names), got.Names[0], got.PageSizes, tc.count, tc.first, tc.pages)
			}
			if n := f.Count(tc.route); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
			if tc.q.ResourceType == ResourcePipelines {
				r := got.Resources[0]
				if r.Attributes["webUrl"] != f.URL()+"/pipelines/github/acme/web-shop/130" || r.Attributes["branch"] != "release/1.0" {
					t.Fatalf("pipeline %+v", r)
				}
			}
		})
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	f := circlecifake.Start(t)
	c := newConnector(t, f, setup{})
	cicdtest.CheckDiscoveryThrottled(t, c, func() { f.Throttle("GET project", 12) }, func() { f.Throttle("GET insights", 12) },
		ResourceWorkflows, 12*time.Second, allSecrets...)
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		secret     string
		pipeline   string
		ref        string
		params     map[string]string
		want       resilience.Code
		wantSlug   string
		wantBranch string
		wantTag    string
		posts      int
	}{
		{name: "the configured project on its default branch", wantSlug: circlecifake.Project, wantBranch: "main", posts: 1},
		{name: "a branch and parameters", pipeline: circlecifake.Project, ref: "release/1.0", params: map[string]string{"target": "prod", "deploy": "true"},
			wantSlug: circlecifake.Project, wantBranch: "release/1.0", posts: 1},
		{name: "a full branch ref", ref: "refs/heads/main", wantSlug: circlecifake.Project, wantBranch: "main", posts: 1},
		{name: "a tag", ref: "refs/tags/v1.0.0", wantSlug: circlecifake.Project, wantTag: "v1.0.0", posts: 1},
		{name: "another project of the organization", pipeline: circlecifake.BrokenProject, wantSlug: circlecifake.BrokenProject, wantBranch: "main", posts: 1},
		{name: "the same project spelled github/", pipeline: "github/acme/web-shop", want: resilience.ResourceNotFound, posts: 1},
		{name: "another organization's project", pipeline: circlecifake.OtherProject, want: resilience.InvalidConfig},
		{name: "a project the user may not see", secret: tokenJSON(circlecifake.OtherToken), want: resilience.ResourceNotFound, posts: 1},
		{name: "an unknown project", pipeline: "gh/acme/nope", want: resilience.ResourceNotFound, posts: 1},
		{name: "a wrong token", secret: tokenJSON("CCIPAT_nope_000000000000000000000000000000000000000000000000000000000"), want: resilience.AuthenticationFailed, posts: 1},
		{name: "a slug that climbs", pipeline: "gh/acme/..", want: resilience.InvalidConfig},
		{name: "not a slug", pipeline: "web-shop", want: resilience.InvalidConfig},
		{name: "a ref with a space", ref: "ma in", want: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := circlecifake.Start(t)
			c := newConnector(t, f, setup{secret: tc.secret})
			run, err := c.Trigger(ctxT(t), tc.pipeline, tc.ref, tc.params)
			checkCode(t, err, tc.want)
			if n := f.Count("POST pipeline"); n != tc.posts {
				t.Fatalf("%d POSTs, want %d", n, tc.posts)
			}
			got := f.Triggered()
			if tc.want != "" {
				if len(got) != 0 {
					t.Fatalf("a refused trigger started %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("triggered %+v", got)
			}
			p := got[0]
			wantParams := tc.params
			if wantParams == nil {
				wantParams = map[string]string{}
			}
			if p.Project != tc.wantSlug || p.Branch != tc.wantBranch || p.Tag != tc.wantTag || !maps.Equal(p.Parameters, wantParams) {
				t.Fatalf("triggered %+v, want %s branch %q tag %q with %v", p, tc.wantSlug, tc.wantBranch, tc.wantTag, wantParams)
			}
			if run.ID != p.ID || run.Pipeline != tc.wantSlug || run.Ref != tc.ref || run.WebURL != fmt.Sprintf("%s/pipelines/github/%s/%d", f.URL(), tc.wantSlug[3:], p.Number) {
				t.Fatalf("ref %+v", run)
			}
		})
	}
}

// TestFollowRun triggers a pipeline and follows it as the pipeline runner
// does (each read with the Ref the last one returned) to its verdict, with
// its workflows' jobs; cancels it while queued and while running. The
// fake answers one workflow a page, so every read follows
// next_page_token.
func TestFollowRun(t *testing.T) {
	t.Parallel()
	type job = contracts.PipelineJob
	tests := []struct {
		name      string
		pipeline  string
		ref       string
		params    map[string]string
		cancelAt  contracts.PipelineRunStatus
		want      []contracts.PipelineRunStatus
		finalJobs []job
	}{
		{name: "to success", pipeline: circlecifake.Project, params: map[string]string{"target": "prod"},
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded},
			finalJobs: []job{{Name: "build", Stage: "build-deploy", Status: "succeeded"}, {Name: "deploy", Stage: "build-deploy", Status: "succeeded"},
				{Name: "lint", Stage: "lint", Status: "succeeded"}}},
		{name: "to failure", pipeline: circlecifake.BrokenProject, params: map[string]string{"target": "prod"},
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed},
			finalJobs: []job{{Name: "build", Stage: "build-deploy", Status: "failed"}, {Name: "deploy", Stage: "build-deploy", Status: "skipped"},
				{Name: "lint", Stage: "lint", Status: "succeeded"}}},
		{name: "an undeclared parameter errors the pipeline", pipeline: circlecifake.BrokenProject, params: map[string]string{"deploy": "true"},
			want: []contracts.PipelineRunStatus{contracts.RunFailed}, finalJobs: []job{{Name: "config", Stage: "setup", Status: "failed"}}},
		{name: "a branch without config errors the pipeline", pipeline: circlecifake.Project, ref: "nope",
			want: []contracts.PipelineRunStatus{contracts.RunFailed}, finalJobs: []job{{Name: "config-fetch", Stage: "setup", Status: "failed"}}},
		{name: "cancelled while queued", pipeline: circlecifake.Project, cancelAt: contracts.RunQueued,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled},
			finalJobs: []job{{Name: "build", Stage: "build-deploy", Status: "cancelled"}, {Name: "deploy", Stage: "build-deploy", Status: "skipped"},
				{Name: "lint", Stage: "lint", Status: "cancelled"}}},
		{name: "cancelled while running", pipeline: circlecifake.Project, cancelAt: contracts.RunRunning,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunCancelled},
			finalJobs: []job{{Name: "build", Stage: "build-deploy", Status: "cancelled"}, {Name: "deploy", Stage: "build-deploy", Status: "skipped"},
				{Name: "lint", Stage: "lint", Status: "cancelled"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := circlecifake.Start(t)
			f.PageSize = 1
			c := newConnector(t, f, setup{})
			run, err := c.Trigger(ctxT(t), tc.pipeline, tc.ref, tc.params)
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, nil)
			if !slices.Equal(got.Seen, tc.want) || !slices.Equal(got.Last.Jobs, tc.finalJobs) {
				t.Fatalf("states %v ending with jobs %+v, want %v and %+v", got.Seen, got.Last.Jobs, tc.want, tc.finalJobs)
			}
			if n, params := f.Started(tc.pipeline); n != 1 || !maps.Equal(params, tc.params) && len(tc.params) > 0 {
				t.Fatalf("started %d pipelines with %v", n, params)
			}
			if tc.cancelAt != "" && f.Count("POST cancel") != 2 {
				t.Fatalf("%d workflow cancels, want 2", f.Count("POST cancel"))
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		f := circlecifake.Start(t)
		c := newConnector(t, f, setup{})
		run, err := c.Trigger(ctxT(t), "", "", nil)
		checkCode(t, err, "")
		broken, err := c.Trigger(ctxT(t), circlecifake.BrokenProject, "", nil)
		checkCode(t, err, "")
		// Another organization's pipeline, read by its own integration.
		other := newConnector(t, f, setup{project: circlecifake.OtherProject, secret: tokenJSON(circlecifake.OtherToken)})
		otherRun, err := other.Trigger(ctxT(t), "", "", nil)
		checkCode(t, err, "")
		// mallory's token cannot see acme's pipeline.
		mallory := newConnector(t, f, setup{secret: tokenJSON(circlecifake.OtherToken)})
		cicdtest.Refuses(t, ctxT(t), mallory, cicdtest.ReadAndCancel, resilience.ResourceNotFound, allSecrets, run)
		wrong := newConnector(t, f, setup{secret: tokenJSON("CCIPAT_nope_000000000000000000000000000000000000000000000000000000000")})
		_, err = wrong.RunStatus(ctxT(t), run)
		checkCode(t, err, resilience.AuthenticationFailed)
		// A pipeline named through another project of the organization is
		// not that project's run.
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.ReadAndCancel, resilience.ResourceNotFound, allSecrets,
			connectors.RunRef{ID: run.ID, Pipeline: circlecifake.BrokenProject}, connectors.RunRef{ID: broken.ID, Pipeline: circlecifake.Project},
			connectors.RunRef{ID: "00000001-5c1e-4a7b-8d2f-0000000000ff", Pipeline: circlecifake.Project})
		if n := f.Count("POST cancel"); n != 0 {
			t.Fatalf("%d workflows cancelled through refused refs", n)
		}
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.ReadAndCancel, resilience.InvalidConfig, allSecrets,
			otherRun, connectors.RunRef{ID: "../x", Pipeline: circlecifake.Project}, connectors.RunRef{ID: run.ID},
			connectors.RunRef{ID: run.ID, Pipeline: "gh/acme/.."}, connectors.RunRef{ID: "42", Pipeline: circlecifake.Project})
		f.Throttle("GET pipeline", 7)
		_, err = c.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
		f.Throttle("POST cancel", 9)
		err = c.CancelRun(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 9*time.Second, allSecrets...)
	})
}

func TestSpec(t *testing.T) {
	t.Parallel()
	connectortest.CheckConfigs(t, Spec, []connectortest.ConfigCase{
		{Name: "a GitHub project", Config: map[string]any{"projectSlug": "gh/acme/web-shop"}, OK: true},
		{Name: "a server and a GitLab project", Config: map[string]any{"url": "https://circleci.example.com", "projectSlug": "circleci/9a8b7c6d-5e4f/1a2b3c4d"}, OK: true},
		{Name: "no project", Config: map[string]any{}, OK: false},
		{Name: "two segments", Config: map[string]any{"projectSlug": "acme/web-shop"}, OK: false},
		{Name: "an unknown VCS", Config: map[string]any{"projectSlug": "gl/acme/web"}, OK: false},
	}...)
	_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: map[string]any{"projectSlug": "gh/acme/.."}}, HTTP: connectortest.HTTP(t, nil, nil)})
	checkCode(t, err, resilience.InvalidConfig)
}
