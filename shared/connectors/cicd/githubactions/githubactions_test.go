package githubactions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"

	"github.com/stella-ops/inthub/shared/connectors/cicd/githubactions/githubactionsfake"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		level  contracts.CheckType
		secret string
		config map[string]any
		noRef  bool
		want   resilience.Code
		route  string
		calls  int
		auth   string // the Authorization scheme the fake saw ("" = none)
	}{
		{name: "connectivity reads the API root without a token", level: contracts.CheckConnectivity, secret: githubactionsfake.UserToken, route: "GET /", calls: 1},
		{name: "authentication of a user token", level: contracts.CheckAuthentication, secret: githubactionsfake.UserToken, route: "GET /user", calls: 1, auth: "Bearer"},
		{name: "authentication of an installation token", level: contracts.CheckAuthentication, secret: connectortest.TokenSecret(githubactionsfake.InstallToken),
			route: "GET /user", calls: 1, auth: "Bearer"},
		{name: "wrong token", level: contracts.CheckAuthentication, secret: githubactionsfake.WrongToken, want: resilience.AuthenticationFailed,
			route: "GET /user", calls: 1, auth: "Bearer"},
		{name: "no token", level: contracts.CheckAuthentication, noRef: true, want: resilience.AuthenticationFailed, route: "GET /user", calls: 1},
		{name: "unset variable", level: contracts.CheckAuthentication, want: resilience.CredentialFetchFailed, route: "GET /user", calls: 0},
		{name: "functionality lists a workflow", level: contracts.CheckFunctionality, secret: githubactionsfake.UserToken,
			route: "GET /repos/{owner}/{repo}/actions/workflows", calls: 1, auth: "Bearer"},
		{name: "functionality with a wrong token", level: contracts.CheckFunctionality, secret: githubactionsfake.WrongToken, want: resilience.AuthenticationFailed,
			route: "GET /repos/{owner}/{repo}/actions/workflows", calls: 1, auth: "Bearer"},
		{name: "functionality without access to the repository", level: contracts.CheckFunctionality, secret: githubactionsfake.OtherToken,
			want: resilience.ResourceNotFound, route: "GET /repos/{owner}/{repo}/actions/workflows", calls: 1, auth: "Bearer"},
		{name: "functionality of another repository", level: contracts.CheckFunctionality, secret: githubactionsfake.UserToken, config: map[string]any{"repo": "nope"},
			want: resilience.ResourceNotFound, route: "GET /repos/{owner}/{repo}/actions/workflows", calls: 1, auth: "Bearer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := githubactionsfake.New(t)
			f.AddWorkflows(3)
			c := newConnector(t, f, setup{config: tc.config, secret: tc.secret, noRef: tc.noRef})
			timer, err := retry(t, connectortest.Level(tc.level, c))
			checkCode(t, err, tc.want)
			if n := f.Count(tc.route); n != tc.calls {
				t.Fatalf("%s called %d times, want %d", tc.route, n, tc.calls)
			}
			if tc.want == resilience.AuthenticationFailed && len(timer.Waits()) != 0 {
				t.Fatalf("an authentication failure was retried after %v", timer.Waits())
			}
			versions, auths := f.Seen()
			for i := range versions {
				if versions[i] != APIVersion || auths[i] != tc.auth {
					t.Fatalf("request %d: X-GitHub-Api-Version %q, Authorization scheme %q; want %q and %q", i, versions[i], auths[i], APIVersion, tc.auth)
				}
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name     string
		q        query
		runs     func(f *githubactionsfake.GitHub)
		want     []string // nil: count only
		count    int
		pages    []int
		route    string
		requests int
		code     resilience.Code
	}{
		{name: "workflows in pages of 100", q: query{ResourceType: ResourcePipelines}, count: 250, pages: []int{100, 100, 50},
			route: "GET /repos/{owner}/{repo}/actions/workflows", requests: 3},
		{name: "deploy workflows by name", q: query{ResourceType: ResourcePipelines, PageSize: 10, Filter: filter{NamePattern: "deploy-*"}},
			count: 24, pages: []int{10, 10, 4}, route: "GET /repos/{owner}/{repo}/actions/workflows", requests: 5},
		{name: "a workflow by file name", q: query{ResourceType: ResourcePipelines, Filter: filter{NamePattern: "deploy.yml"}},
			want: []string{"Deploy"}, pages: []int{1}, route: "GET /repos/{owner}/{repo}/actions/workflows", requests: 3},
		{name: "jobs of the latest run", runs: func(f *githubactionsfake.GitHub) { f.AddRun(10_000, 5); f.AddRun(10_001, 130) },
			q: query{ResourceType: ResourceJobs}, count: 130, pages: []int{100, 30},
			route: "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs", requests: 2},
		{name: "jobs of the latest run of ci.yml", runs: func(f *githubactionsfake.GitHub) { f.AddRun(10_000, 5); f.AddRun(10_001, 130) },
			q: query{ResourceType: ResourceJobs, Filter: filter{Repository: "ci.yml", NamePattern: "job-00?"}}, count: 5, pages: []int{5},
			route: "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", requests: 1},
		{name: "no run yet: no jobs", q: query{ResourceType: ResourceJobs}, pages: []int{0},
			route: "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs", requests: 0},
		{name: "an unknown workflow", q: query{ResourceType: ResourceJobs, Filter: filter{Repository: "nope.yml"}}, code: resilience.ResourceNotFound},
		{name: "a repository instead of a workflow", q: query{ResourceType: ResourceJobs, Filter: filter{Repository: "acme/app"}}, code: resilience.InvalidConfig},
		{name: "unknown resource type", q: query{ResourceType: "repositories"}, code: resilience.NotSupported},
		{name: "bad cursor", q: query{ResourceType: ResourcePipelines, Cursor: "e30"}, code: resilience.InvalidConfig},
		{name: "bad pattern", q: query{ResourceType: ResourcePipelines, Filter: filter{NamePattern: "["}}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := githubactionsfake.New(t)
			f.AddWorkflows(250)
			if tc.runs != nil {
				tc.runs(f)
			}
			c := newConnector(t, f, setup{secret: githubactionsfake.UserToken})
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if tc.want != nil && !slices.Equal(got.Names, tc.want) {
				t.Fatalf("discovered %v, want %v", got.Names, tc.want)
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
				if r.Type != tc.q.ResourceType || ids[r.ID] {
					t.Fatalf("resource %+v: wrong type or a duplicate", r)
				}
				ids[r.ID] = true
			}
		})
	}
	t.Run("shapes", func(t *testing.T) {
		t.Parallel()
		f := githubactionsfake.New(t)
		f.AddWorkflows(2)
		run := f.AddRun(10_000, 1)
		c := newConnector(t, f, setup{secret: githubactionsfake.UserToken})
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourcePipelines, PageSize: 1})
		checkCode(t, err, "")
		if w := page.Items[0]; w.Name != "CI" || w.ID != "10000" || w.Attributes["file"] != "ci.yml" || w.Attributes["path"] != ".github/workflows/ci.yml" {
			t.Fatalf("workflow %+v", w)
		}
		page, err = c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceJobs})
		checkCode(t, err, "")
		if j := page.Items[0]; j.Name != "job-000" || j.Attributes["runId"] != fmt.Sprint(run) || j.Attributes["conclusion"] != "success" {
			t.Fatalf("job %+v", j)
		}
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	const route = "GET /repos/{owner}/{repo}/actions/workflows"
	tests := []struct {
		name  string
		limit githubactionsfake.Limit
		wait  time.Duration
	}{
		{"primary limit as 403", githubactionsfake.Limit{Status: 403, Primary: true, ResetIn: 42}, 42 * time.Second},
		{"primary limit as 429", githubactionsfake.Limit{Status: 429, Primary: true, ResetIn: 42}, 42 * time.Second},
		{"429 with Retry-After", githubactionsfake.Limit{Status: 429, RetryAfter: 7, ResetIn: 3000}, 7 * time.Second},
		{"secondary limit as 403 with Retry-After", githubactionsfake.Limit{Status: 403, RetryAfter: 30, ResetIn: 3000}, 30 * time.Second},
		{"secondary limit with its message only", githubactionsfake.Limit{Status: 403, ResetIn: 3000}, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := githubactionsfake.New(t)
			f.AddWorkflows(3)
			c := newConnector(t, f, setup{secret: githubactionsfake.UserToken})

			f.LimitNext(route, tc.limit)
			err := c.CheckFunctionality(ctxT(t))
			connectortest.CheckRetryAfter(t, err, tc.wait, allSecrets...)

			f.LimitNext(route, tc.limit)
			connectortest.CheckRetried(t, c.CheckFunctionality, []time.Duration{tc.wait}, allSecrets...)
			if n := f.Count(route); n != 3 {
				t.Fatalf("%d calls, want 3", n)
			}
		})
	}
	t.Run("a plain 403 is no rate limit", func(t *testing.T) {
		t.Parallel()
		f := githubactionsfake.New(t)
		f.AddWorkflows(2)
		c := newConnector(t, f, setup{secret: githubactionsfake.ReadToken})
		_, err := c.Trigger(ctxT(t), "deploy.yml", "main", nil)
		checkCode(t, err, resilience.PermissionDenied)
	})
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	const route = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
	tests := []struct {
		name     string
		config   map[string]any
		secret   string
		workflow string
		ref      string
		params   map[string]string
		want     resilience.Code
		runID    string
		wantRef  string
		calls    int
	}{
		{name: "with run details", workflow: "deploy.yml", ref: "release", params: map[string]string{"target": "prod"},
			secret: githubactionsfake.UserToken, runID: "8000001", wantRef: "release", calls: 1},
		{name: "by workflow id, on the default branch", workflow: "10001", secret: githubactionsfake.UserToken, runID: "8000001", wantRef: "main", calls: 1},
		{name: "without run details", config: map[string]any{"returnRunDetails": false}, workflow: "deploy.yml", ref: "main",
			secret: githubactionsfake.InstallToken, runID: "", wantRef: "main", calls: 1},
		{name: "unknown ref", workflow: "deploy.yml", ref: "nope", secret: githubactionsfake.UserToken, want: resilience.InvalidConfig, calls: 1},
		{name: "unexpected input", workflow: "deploy.yml", ref: "main", params: map[string]string{"colour": "blue"}, secret: githubactionsfake.UserToken,
			want: resilience.InvalidConfig, calls: 1},
		{name: "a workflow without workflow_dispatch", workflow: "ci.yml", ref: "main", secret: githubactionsfake.UserToken, want: resilience.InvalidConfig, calls: 1},
		{name: "unknown workflow", workflow: "nope.yml", ref: "main", secret: githubactionsfake.UserToken, want: resilience.ResourceNotFound, calls: 1},
		{name: "wrong token", workflow: "deploy.yml", ref: "main", secret: githubactionsfake.WrongToken, want: resilience.AuthenticationFailed, calls: 1},
		{name: "no workflow", ref: "main", secret: githubactionsfake.UserToken, want: resilience.InvalidConfig, calls: 0},
		{name: "a path as workflow", workflow: "../../x.yml", ref: "main", secret: githubactionsfake.UserToken, want: resilience.InvalidConfig, calls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := githubactionsfake.New(t)
			f.AddWorkflows(3)
			c := newConnector(t, f, setup{config: tc.config, secret: tc.secret})
			id, err := c.Trigger(ctxT(t), tc.workflow, tc.ref, tc.params)
			checkCode(t, err, tc.want)
			if n := f.Count(route); n != tc.calls {
				t.Fatalf("%d dispatches sent, want %d", n, tc.calls)
			}
			if tc.want != "" {
				return
			}
			d := f.Dispatched()
			if id.ID != tc.runID || id.Pipeline == "" || id.Since.IsZero() || len(d) != 1 || d[0].Ref != tc.wantRef || !maps.Equal(d[0].Inputs, tc.params) || d[0].Details != (tc.runID != "") {
				t.Fatalf("run %q, dispatches %+v; want run %q on %s with %v", id, d, tc.runID, tc.wantRef, tc.params)
			}
		})
	}
}

func TestNewRefusesConfigsThatCannotWork(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]any
	}{
		{"no owner", map[string]any{"repo": "app"}},
		{"no repo", map[string]any{"owner": "acme"}},
		{"bad owner", map[string]any{"owner": "ac me", "repo": "app"}},
		{"dot repo", map[string]any{"owner": "acme", "repo": ".."}},
		{"ftp url", map[string]any{"url": "ftp://api.github.com", "owner": "acme", "repo": "app"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: tc.config}, HTTP: connectortest.HTTP(t, nil, nil)})
			checkCode(t, err, resilience.InvalidConfig)
		})
	}
	c, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: map[string]any{"owner": "acme", "repo": "app"}}, HTTP: connectortest.HTTP(t, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.(*Connector).api.String() + c.(*Connector).repoPath; got != "https://api.github.com/repos/acme/app" {
		t.Fatalf("default API root: %s", got)
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	connectortest.CheckConfigs(t, Spec, []connectortest.ConfigCase{
		{Name: "github.com", Config: map[string]any{"owner": "acme", "repo": "app"}, OK: true},
		{Name: "GitHub Enterprise Server", Config: map[string]any{"url": "https://ghe.example.com/api/v3", "owner": "acme", "repo": "app", "returnRunDetails": false}, OK: true},
		{Name: "no owner", Config: map[string]any{"repo": "app"}, OK: false},
		{Name: "unknown field", Config: map[string]any{"owner": "acme", "repo": "app", "workflow": "ci.yml"}, OK: false},
	}...)
	if s, ok := connectors.NewRegistry(Spec).Lookup("GitHub-Actions"); !ok || s != Spec || s.Category != connectors.CategoryCICD {
		t.Fatal("lookup")
	}
}

// TestFollowRun dispatches a workflow and follows the run as the pipeline
// runner does (each read with the Ref the last one returned), with and
// without return_run_details (then found among the workflow's runs), to
// its conclusion; cancels it while queued and while running.
func TestFollowRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		details  bool
		hide     int // listings that do not show the new run yet
		verdict  string
		cancelAt contracts.PipelineRunStatus
		want     []contracts.PipelineRunStatus
	}{
		{name: "run details, to success", details: true,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded}},
		{name: "found among the runs, listed late, to failure", hide: 2, verdict: "failure",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed}},
		{name: "timed out fails", details: true, verdict: "timed_out",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed}},
		{name: "cancelled while queued", cancelAt: contracts.RunQueued,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled}},
		{name: "cancelled while running", details: true, cancelAt: contracts.RunRunning,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunCancelled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := githubactionsfake.New(t)
			f.AddWorkflows(3)
			f.SetVerdict(tc.verdict)
			f.HideRuns(tc.hide)
			c := newConnector(t, f, setup{config: map[string]any{"returnRunDetails": tc.details}, secret: githubactionsfake.UserToken})
			run, err := c.Trigger(ctxT(t), "deploy.yml", "release", map[string]string{"target": "prod"})
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, func(st connectors.RunState) {
				if st.Status.Final() && (len(st.Jobs) != 2 || st.Jobs[0].Name != "job-000" || st.Jobs[0].Status != string(st.Status)) {
					t.Fatalf("jobs %+v, want two %s", st.Jobs, st.Status)
				}
			})
			run = got.Last.Ref
			if !slices.Equal(got.Seen, tc.want) {
				t.Fatalf("states %v, want %v", got.Seen, tc.want)
			}
			if run.ID != "8000001" || run.WebURL != "https://github.com/acme/app/actions/runs/8000001" {
				t.Fatalf("ref %+v, want run 8000001 with its page", run)
			}
			// Cancelling a completed run is done, not an error (409).
			checkCode(t, c.CancelRun(ctxT(t), run), "")
		})
	}
	t.Run("two dispatches close together take one run each", func(t *testing.T) {
		t.Parallel()
		f := githubactionsfake.New(t)
		f.AddWorkflows(3)
		c := newConnector(t, f, setup{config: map[string]any{"returnRunDetails": false}, secret: githubactionsfake.UserToken})
		var ids []string
		for range 2 {
			run, err := c.Trigger(ctxT(t), "deploy.yml", "main", nil)
			checkCode(t, err, "")
			st, err := c.RunStatus(ctxT(t), run)
			checkCode(t, err, "")
			ids = append(ids, st.Ref.ID)
		}
		if ids[0] == "" || ids[1] == "" || ids[0] == ids[1] {
			t.Fatalf("runs %v, want two different runs", ids)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		f := githubactionsfake.New(t)
		f.AddWorkflows(3)
		c := newConnector(t, f, setup{secret: githubactionsfake.UserToken})
		run, err := c.Trigger(ctxT(t), "deploy.yml", "main", nil)
		checkCode(t, err, "")
		ro := newConnector(t, f, setup{secret: githubactionsfake.ReadToken})
		checkCode(t, ro.CancelRun(ctxT(t), run), resilience.PermissionDenied)
		_, err = newConnector(t, f, setup{secret: githubactionsfake.WrongToken}).RunStatus(ctxT(t), run)
		checkCode(t, err, resilience.AuthenticationFailed)
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.ReadAndCancel, resilience.ResourceNotFound, allSecrets, connectors.RunRef{ID: "123"})
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.Read, resilience.InvalidConfig, allSecrets,
			connectors.RunRef{ID: "../x"}, connectors.RunRef{ID: "-4"}, connectors.RunRef{Pipeline: "deploy.yml"}, connectors.RunRef{Pipeline: "../x", Since: time.Now()})
		f.LimitNext("GET /repos/{owner}/{repo}/actions/runs/{run_id}", githubactionsfake.Limit{Status: 429, RetryAfter: 7})
		_, err = c.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
		f.LimitNext("GET /repos/{owner}/{repo}/actions/runs/{run_id}", githubactionsfake.Limit{Status: 403, Primary: true, ResetIn: 30})
		_, err = c.RunStatus(ctxT(t), run)
		checkCode(t, err, resilience.RateLimited)
	})
}
