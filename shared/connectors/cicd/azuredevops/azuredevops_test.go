package azuredevops

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/azuredevops/azuredevopsfake"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		level   contracts.CheckType
		secret  string
		project string
		want    resilience.Code
		route   string
	}{
		{name: "connectivity answers 401 to anonymous", level: contracts.CheckConnectivity, secret: tokenJSON(azuredevopsfake.OtherOrgToken), route: "GET project"},
		{name: "authentication with a token", level: contracts.CheckAuthentication, route: "GET project"},
		{name: "authentication with user and token", level: contracts.CheckAuthentication,
			secret: `{"username":"release-bot","password":"` + azuredevopsfake.Token + `"}`, route: "GET project"},
		{name: "authentication with a bare value", level: contracts.CheckAuthentication, secret: azuredevopsfake.Token, route: "GET project"},
		{name: "another organization's token", level: contracts.CheckAuthentication, secret: tokenJSON(azuredevopsfake.OtherOrgToken),
			want: resilience.AuthenticationFailed, route: "GET project"},
		{name: "an unknown project", level: contracts.CheckAuthentication, project: "nope", want: resilience.ResourceNotFound, route: "GET project"},
		{name: "functionality", level: contracts.CheckFunctionality, route: "GET pipelines"},
		{name: "functionality with a wrong token", level: contracts.CheckFunctionality, secret: tokenJSON(azuredevopsfake.OtherOrgToken),
			want: resilience.AuthenticationFailed, route: "GET pipelines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := azuredevopsfake.Start(t)
			var cfg map[string]any
			if tc.project != "" {
				cfg = map[string]any{"project": tc.project}
			}
			c := newConnector(t, f, setup{secret: tc.secret, config: cfg})
			err := connectortest.Level(tc.level, c)(ctxT(t))
			checkCode(t, err, tc.want)
			if n := f.Count(tc.route); n != 1 {
				t.Fatalf("%s called %d times, want 1", tc.route, n)
			}
		})
	}
}

// TestAnswers checks the connector's reading of what the fake cannot be
// made to say: a 203 sign-in page, a server that is not Azure DevOps.
func TestAnswers(t *testing.T) {
	t.Parallel()
	// The Azure DevOps headers a server sends, proving the service.
	e2eid := http.Header{"X-VSS-E2EID": {"6b3f0a52-0c61-4f7e-9d55-0d8f1f0e9a11"}}
	tfs := http.Header{"X-TFS-ProcessId": {"6b3f0a52-0c61-4f7e-9d55-0d8f1f0e9a11"}}
	connectortest.CheckAnswers(t, connectortest.Setup{Spec: Spec, EnvVar: credEnv, Secret: tokenJSON(azuredevopsfake.Token),
		Config: map[string]any{"organization": "fabrikam", "project": "web"}}, allSecrets,
		connectortest.Answer{Name: "a sign-in page is an authentication failure", Status: http.StatusNonAuthoritativeInfo, Header: e2eid,
			Level: contracts.CheckAuthentication, Want: resilience.AuthenticationFailed},
		connectortest.Answer{Name: "a web server is not Azure DevOps", Status: http.StatusOK, Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a login wall is not Azure DevOps", Status: http.StatusUnauthorized, Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a proxy error", Status: http.StatusBadGateway, Want: resilience.UpstreamError},
		connectortest.Answer{Name: "the sign-in page still proves the service", Status: http.StatusNonAuthoritativeInfo, Header: e2eid},
		connectortest.Answer{Name: "an Azure DevOps Server's 401", Status: http.StatusUnauthorized, Header: tfs})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name     string
		maxTop   int
		q        query
		count    int
		pages    []int
		requests int // GET pipelines: the fake's pages followed by continuation token
		code     resilience.Code
	}{
		{name: "every pipeline through continuation tokens", maxTop: 40, q: query{ResourceType: ResourcePipelines}, count: 252,
			// 7 pages of 40; the first discovery page stops 20 into the
			// third, which the second reads again.
			pages: []int{100, 100, 52}, requests: 8},
		{name: "small pages of a large upstream page", maxTop: 1000, q: query{ResourceType: ResourcePipelines, PageSize: 30}, count: 252,
			// Upstream pages of 100 (listTop), each read again by every
			// discovery page that starts inside it.
			pages: []int{30, 30, 30, 30, 30, 30, 30, 30, 12}, requests: 11},
		{name: "by name", maxTop: 40, q: query{ResourceType: ResourcePipelines, Filter: filter{NamePattern: "svc-1*"}}, count: 100,
			// The 100th match is in the sixth upstream page: the second
			// discovery page reads its rest and the seventh, matching none.
			pages: []int{100, 0}, requests: 8},
		{name: "by folder path", maxTop: 1000, q: query{ResourceType: ResourcePipelines, Filter: filter{NamePattern: "release/*"}}, count: 1,
			pages: []int{1}, requests: 3},
		{name: "unknown resource type", q: query{ResourceType: "jobs"}, code: resilience.NotSupported},
		{name: "bad cursor", q: query{ResourceType: ResourcePipelines, Cursor: "eyJzIjotMX0"}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := azuredevopsfake.Start(t)
			f.MaxTop = tc.maxTop
			for i := range 250 {
				f.AddPipeline(azuredevopsfake.Project, &azuredevopsfake.Pipeline{ID: int64(1000 + i), Name: fmt.Sprintf("svc-%03d", i), Folder: `\services`})
			}
			c := newConnector(t, f, setup{})
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if len(got.Names) != tc.count || !slices.IsSorted(got.Names) || !slices.Equal(got.PageSizes, tc.pages) {
				t.Fatalf("discovered %d names in pages %v (sorted: %v), want %d in %v", len(got.Names), got.PageSizes, slices.IsSorted(got.Names), tc.count, tc.pages)
			}
			if n := f.Count("GET pipelines"); n != tc.requests {
				t.Fatalf("%d listing requests, want %d", n, tc.requests)
			}
		})
	}
	t.Run("shapes", func(t *testing.T) {
		t.Parallel()
		f := azuredevopsfake.Start(t)
		c := newConnector(t, f, setup{})
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourcePipelines, Filter: contracts.DiscoveryFilter{NamePattern: "deploy"}})
		checkCode(t, err, "")
		if len(page.Items) != 1 {
			t.Fatalf("items %+v", page.Items)
		}
		r := page.Items[0]
		if r.ID != "1" || r.Attributes["folder"] != `\release` || r.Attributes["webUrl"] != f.URL()+"/fabrikam/web-shop/_build/definition?definitionId=1" {
			t.Fatalf("pipeline %+v", r)
		}
	})
	t.Run("a token the service did not issue", func(t *testing.T) {
		t.Parallel()
		f := azuredevopsfake.Start(t)
		c := newConnector(t, f, setup{})
		_, _, err := c.listPipelines(ctxT(t), map[string][]string{"continuationToken": {"bm9wZXwx"}})
		checkCode(t, err, resilience.InvalidConfig)
	})
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	f := azuredevopsfake.Start(t)
	c := newConnector(t, f, setup{})
	cicdtest.CheckDiscoveryThrottled(t, c, func() { f.Throttle("GET pipelines", 12) }, func() { f.Throttle("GET pipelines", 12) },
		ResourcePipelines, 12*time.Second, allSecrets...)
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		config       map[string]any
		secret       string
		pipeline     string
		ref          string
		params       map[string]string
		want         resilience.Code
		wantRef      string
		wantTmpl     map[string]string
		wantVars     map[string]string
		posts        int
		wantPipeline string // the id a name resolves to; "" = pipeline
	}{
		{name: "default branch, no parameters", pipeline: "1", wantRef: "refs/heads/main", wantTmpl: map[string]string{}, wantVars: map[string]string{}, posts: 1},
		{name: "a branch and template parameters", pipeline: "1", ref: "release/1.0", params: map[string]string{"environment": "prod", "TARGET": "eu"},
			wantRef: "refs/heads/release/1.0", wantTmpl: map[string]string{"environment": "prod", "TARGET": "eu"}, wantVars: map[string]string{}, posts: 1},
		{name: "a tag as a full ref", pipeline: "2", ref: "refs/tags/v1.0.0", wantRef: "refs/tags/v1.0.0", wantTmpl: map[string]string{}, wantVars: map[string]string{}, posts: 1},
		{name: "parameters as variables", config: map[string]any{"parametersAs": ParamsVariables}, pipeline: "1", ref: "main",
			params: map[string]string{"TARGET": "eu", "verbose": "true"}, wantRef: "refs/heads/main", wantTmpl: map[string]string{},
			wantVars: map[string]string{"TARGET": "eu", "verbose": "true"}, posts: 1},
		{name: "an undeclared template parameter", pipeline: "2", params: map[string]string{"environment": "prod"}, want: resilience.InvalidConfig, posts: 1},
		{name: "a variable not settable at queue time", config: map[string]any{"parametersAs": ParamsVariables}, pipeline: "2",
			params: map[string]string{"secret_sauce": "1"}, want: resilience.InvalidConfig, posts: 1},
		{name: "a branch that does not exist", pipeline: "1", ref: "nope", want: resilience.InvalidConfig, posts: 1},
		{name: "an unknown pipeline", pipeline: "77", want: resilience.ResourceNotFound, posts: 1},
		{name: "another project's pipeline", pipeline: "3", want: resilience.ResourceNotFound, posts: 1},
		{name: "an unknown project", config: map[string]any{"project": "nope"}, pipeline: "1", want: resilience.ResourceNotFound, posts: 1},
		{name: "another organization's token", secret: tokenJSON(azuredevopsfake.OtherOrgToken), pipeline: "1", want: resilience.AuthenticationFailed, posts: 1},
		{name: "a pipeline by name", pipeline: "deploy", wantPipeline: "1", wantRef: "refs/heads/main", wantTmpl: map[string]string{}, wantVars: map[string]string{}, posts: 1},
		{name: "a pipeline by folder path", pipeline: `\release\deploy`, wantPipeline: "1", wantRef: "refs/heads/main", wantTmpl: map[string]string{}, wantVars: map[string]string{}, posts: 1},
		{name: "a name two pipelines have", pipeline: "twin", want: resilience.InvalidConfig},
		{name: "an unknown name", pipeline: "nope", want: resilience.ResourceNotFound},
		{name: "another project's pipeline by name", pipeline: "ledger", want: resilience.ResourceNotFound},
		{name: "a name with a line break", pipeline: "deploy\n", want: resilience.InvalidConfig},
		{name: "a ref with a space", pipeline: "1", ref: "ma in", want: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := azuredevopsfake.Start(t)
			f.AddPipeline(azuredevopsfake.Project, &azuredevopsfake.Pipeline{ID: 40, Name: "twin", Folder: `\a`})
			f.AddPipeline(azuredevopsfake.Project, &azuredevopsfake.Pipeline{ID: 41, Name: "twin", Folder: `\b`})
			c := newConnector(t, f, setup{config: tc.config, secret: tc.secret})
			run, err := c.Trigger(ctxT(t), tc.pipeline, tc.ref, tc.params)
			if tc.wantPipeline == "" {
				tc.wantPipeline = tc.pipeline
			}
			checkCode(t, err, tc.want)
			if n := f.Count("POST runs"); n != tc.posts {
				t.Fatalf("%d POSTs, want %d", n, tc.posts)
			}
			runs := f.Runs()
			if tc.want != "" {
				if len(runs) != 0 {
					t.Fatalf("a refused trigger started %+v", runs)
				}
				return
			}
			if len(runs) != 1 {
				t.Fatalf("runs %+v", runs)
			}
			r := runs[0]
			if run.ID != "101" || run.Pipeline != tc.wantPipeline || run.Ref != tc.ref ||
				run.WebURL != f.URL()+"/fabrikam/web-shop/_build/results?buildId=101" {
				t.Fatalf("ref %+v", run)
			}
			if strconv.FormatInt(r.Pipeline, 10) != tc.wantPipeline || r.RefName != tc.wantRef ||
				!maps.Equal(r.TemplateParameters, tc.wantTmpl) || !maps.Equal(r.Variables, tc.wantVars) {
				t.Fatalf("started %+v, want ref %s, template %v, variables %v", r, tc.wantRef, tc.wantTmpl, tc.wantVars)
			}
		})
	}
}

// TestFollowRun triggers a run and follows it as the pipeline runner does
// (each read with the Ref the last one returned) to its verdict, stage by
// stage; cancels it while queued and while running.
func TestFollowRun(t *testing.T) {
	t.Parallel()
	type job = contracts.PipelineJob
	tests := []struct {
		name      string
		pipeline  string
		cancelAt  contracts.PipelineRunStatus
		want      []contracts.PipelineRunStatus
		finalJobs []job
	}{
		{name: "to success", pipeline: "1",
			want:      []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded},
			finalJobs: []job{{Name: "compile", Stage: "Build", Status: "succeeded"}, {Name: "deploy_web", Stage: "Deploy", Status: "succeeded"}}},
		{name: "to failure", pipeline: "2",
			want:      []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed},
			finalJobs: []job{{Name: "compile", Stage: "Build", Status: "failed"}, {Name: "deploy_web", Stage: "Deploy", Status: "skipped"}}},
		{name: "cancelled while queued", pipeline: "1", cancelAt: contracts.RunQueued,
			want:      []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled},
			finalJobs: []job{{Name: "compile", Stage: "Build", Status: "cancelled"}, {Name: "deploy_web", Stage: "Deploy", Status: "cancelled"}}},
		{name: "cancelled while running", pipeline: "1", cancelAt: contracts.RunRunning,
			want:      []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunCancelled},
			finalJobs: []job{{Name: "compile", Stage: "Build", Status: "cancelled"}, {Name: "deploy_web", Stage: "Deploy", Status: "cancelled"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := azuredevopsfake.Start(t)
			c := newConnector(t, f, setup{})
			run, err := c.Trigger(ctxT(t), tc.pipeline, "main", map[string]string{"TARGET": "prod"})
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, func(st connectors.RunState) {
				if st.Status == contracts.RunQueued && !slices.Equal(st.Jobs, []job{{Name: "compile", Stage: "Build", Status: "queued"}, {Name: "deploy_web", Stage: "Deploy", Status: "queued"}}) {
					t.Fatalf("queued with jobs %+v", st.Jobs)
				}
				if st.Status == contracts.RunRunning && !slices.Equal(st.Jobs, []job{{Name: "compile", Stage: "Build", Status: "running"}, {Name: "deploy_web", Stage: "Deploy", Status: "queued"}}) {
					t.Fatalf("running with jobs %+v", st.Jobs)
				}
			})
			run = got.Last.Ref
			if !slices.Equal(got.Seen, tc.want) || !slices.Equal(got.Last.Jobs, tc.finalJobs) {
				t.Fatalf("states %v ending with jobs %+v, want %v and %+v", got.Seen, got.Last.Jobs, tc.want, tc.finalJobs)
			}
			if run.ID != "101" || run.Pipeline != tc.pipeline || run.WebURL != f.URL()+"/fabrikam/web-shop/_build/results?buildId=101" {
				t.Fatalf("ref %+v", run)
			}
			if n, params := f.Started(tc.pipeline); n != 1 || !maps.Equal(params, map[string]string{"TARGET": "prod"}) {
				t.Fatalf("started %d runs with %v", n, params)
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		f := azuredevopsfake.Start(t)
		c := newConnector(t, f, setup{})
		run, err := c.Trigger(ctxT(t), "1", "", nil)
		checkCode(t, err, "")
		// Another project's run (the same organization, another team).
		other := newConnector(t, f, setup{config: map[string]any{"project": azuredevopsfake.OtherProject}})
		otherRun, err := other.Trigger(ctxT(t), "3", "", nil)
		checkCode(t, err, "")
		wrong := newConnector(t, f, setup{secret: tokenJSON(azuredevopsfake.OtherOrgToken)})
		cicdtest.Refuses(t, ctxT(t), wrong, cicdtest.ReadAndCancel, resilience.AuthenticationFailed, allSecrets, run)
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.ReadAndCancel, resilience.ResourceNotFound, allSecrets, otherRun)
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.Read, resilience.ResourceNotFound, allSecrets,
			connectors.RunRef{ID: "999", Pipeline: "1"}, connectors.RunRef{ID: run.ID, Pipeline: "2"})
		cicdtest.Refuses(t, ctxT(t), c, cicdtest.ReadAndCancel, resilience.InvalidConfig, allSecrets,
			connectors.RunRef{ID: "../x", Pipeline: "1"}, connectors.RunRef{ID: "-1", Pipeline: "1"}, connectors.RunRef{ID: "101"},
			connectors.RunRef{ID: "101", Pipeline: "a/b"}, connectors.RunRef{ID: "99999999999", Pipeline: "1"})
		f.Throttle("GET run", 7)
		_, err = c.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
		f.Throttle("PATCH build", 9)
		err = c.CancelRun(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 9*time.Second, allSecrets...)
		if st, _ := c.RunStatus(ctxT(t), run); st.Status != contracts.RunQueued {
			t.Fatalf("a refused cancel moved the run to %s", st.Status)
		}
	})
}

func TestSpec(t *testing.T) {
	t.Parallel()
	connectortest.CheckConfigs(t, Spec, []connectortest.ConfigCase{
		{Name: "organization and project", Config: map[string]any{"organization": "fabrikam", "project": "Web Shop"}, OK: true},
		{Name: "every field", Config: map[string]any{"url": "https://tfs.example.com/tfs", "organization": "DefaultCollection", "project": "web", "parametersAs": "variables"}, OK: true},
		{Name: "no project", Config: map[string]any{"organization": "fabrikam"}, OK: false},
		{Name: "an organization with a dot", Config: map[string]any{"organization": "fab.rikam", "project": "web"}, OK: false},
		{Name: "a project with a slash", Config: map[string]any{"organization": "fabrikam", "project": "a/b"}, OK: false},
		{Name: "a project starting with _", Config: map[string]any{"organization": "fabrikam", "project": "_web"}, OK: false},
		{Name: "parameters elsewhere", Config: map[string]any{"organization": "fabrikam", "project": "web", "parametersAs": "env"}, OK: false},
	}...)
}
