package teamcity

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
	"github.com/stella-ops/inthub/shared/connectors/cicd/teamcity/teamcityfake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		level  func(*Connector) func(context.Context) error
		secret string
		config map[string]any
		want   resilience.Code
		route  string
	}{
		{name: "connectivity without the token", level: func(c *Connector) func(context.Context) error { return c.CheckConnectivity },
			secret: token(wrongToken), route: "GET /app/rest/server"},
		{name: "authentication", level: func(c *Connector) func(context.Context) error { return c.CheckAuthentication },
			secret: token(teamcityfake.BobToken), route: "GET /app/rest/users/current"},
		{name: "authentication with a plain token value", level: func(c *Connector) func(context.Context) error { return c.CheckAuthentication },
			secret: teamcityfake.AliceToken, route: "GET /app/rest/users/current"},
		{name: "a wrong token", level: func(c *Connector) func(context.Context) error { return c.CheckAuthentication },
			secret: token(wrongToken), want: resilience.AuthenticationFailed, route: "GET /app/rest/users/current"},
		{name: "functionality", level: func(c *Connector) func(context.Context) error { return c.CheckFunctionality },
			secret: token(teamcityfake.BobToken), route: "GET /app/rest/buildTypes"},
		{name: "functionality in a project", level: func(c *Connector) func(context.Context) error { return c.CheckFunctionality },
			secret: token(teamcityfake.BobToken), config: map[string]any{"project": "Pipelines"}, route: "GET /app/rest/buildTypes"},
		{name: "functionality in an unknown project", level: func(c *Connector) func(context.Context) error { return c.CheckFunctionality },
			secret: token(teamcityfake.BobToken), config: map[string]any{"project": "Nope"}, want: resilience.ResourceNotFound, route: "GET /app/rest/buildTypes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := teamcityfake.New(t)
			c := newConnector(t, f, tc.secret, tc.config)
			checkCode(t, tc.level(c)(ctxT(t)), tc.want)
			if n := f.Count(tc.route); n != 1 {
				t.Fatalf("%s called %d times, want 1", tc.route, n)
			}
		})
	}
}

func TestConnectivityRefusesWhatIsNotTeamCity(t *testing.T) {
	t.Parallel()
	connectortest.CheckAnswers(t, connectortest.Setup{Spec: Spec, EnvVar: credEnv, Secret: token(wrongToken)}, allSecrets,
		connectortest.Answer{Name: "TeamCity asking for credentials", Status: http.StatusUnauthorized},
		connectortest.Answer{Name: "nothing there", Status: http.StatusNotFound, Want: resilience.ResourceNotFound},
		connectortest.Answer{Name: "a proxy error", Status: http.StatusBadGateway, Want: resilience.UpstreamError})
}

// TestDiscovery pages through 267 build configurations in 12 projects
// with TeamCity's count/start locator and nextHref.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name     string
		config   map[string]any
		q        query
		count    int
		first    string // the first id
		pages    []int
		requests int // upstream pages read
		code     resilience.Code
	}{
		{name: "build types in pages of 100", q: query{ResourceType: ResourceBuildTypes}, count: 267, first: teamcityfake.GreenBuildType,
			pages: []int{100, 100, 67}, requests: 3},
		{name: "build types in pages of 40", q: query{ResourceType: ResourceBuildTypes, PageSize: 40}, count: 267, first: teamcityfake.GreenBuildType,
			// The third page spans two upstream pages.
			pages: []int{40, 40, 40, 40, 40, 40, 27}, requests: 8},
		{name: "build types of a project and its subprojects", config: map[string]any{"project": "Team_01"}, q: query{ResourceType: ResourceBuildTypes},
			count: 40, first: "Team_01_Build_000", pages: []int{40}, requests: 1},
		{name: "filtered by name across upstream pages", q: query{ResourceType: ResourceBuildTypes, Filter: filter{NamePattern: "*-7"}},
			count: 11, first: "Team_00_Build_007", pages: []int{11}, requests: 3},
		{name: "projects without the root", q: query{ResourceType: ResourceProjects}, count: 12, first: "Pipelines", pages: []int{12}, requests: 1},
		{name: "projects below a project", config: map[string]any{"project": "Team_01"}, q: query{ResourceType: ResourceProjects},
			count: 1, first: "Team_01_Sub", pages: []int{1}, requests: 1},
		{name: "an unknown project", config: map[string]any{"project": "Nope"}, q: query{ResourceType: ResourceProjects}, code: resilience.ResourceNotFound, requests: 1},
		{name: "unknown resource type", q: query{ResourceType: "jobs"}, code: resilience.NotSupported},
		{name: "a cursor with a page that is no start", q: query{ResourceType: ResourceProjects, Cursor: "eyJxIjoiY291bnQ6MSJ9"}, code: resilience.InvalidConfig},
		{name: "bad pattern", q: query{ResourceType: ResourceProjects, Filter: filter{NamePattern: "["}}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := teamcityfake.New(t)
			addTeams(f)
			c := newConnector(t, f, token(teamcityfake.BobToken), tc.config)
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if n := f.Count("GET /app/rest/buildTypes") + f.Count("GET /app/rest/projects"); n != tc.requests {
				t.Fatalf("%d upstream pages read, want %d", n, tc.requests)
			}
			if tc.code != "" {
				return
			}
			cicdtest.CheckListed(t, got, tc.q.ResourceType, cicdtest.Listed{Count: tc.count, First: tc.first, Pages: tc.pages}, cicdtest.ID,
				func(r contracts.Resource) bool { return r.ID != "_Root" && r.Attributes["webUrl"] != "" })
		})
	}
}

// TestDiscoveryEndsWithNextHref: a listing of exactly two full pages ends
// when the second names no nextHref, without reading an empty third.
func TestDiscoveryEndsWithNextHref(t *testing.T) {
	t.Parallel()
	f := teamcityfake.New(t)
	for i := range 198 {
		f.AddBuildType(fmt.Sprintf("Pipelines_B%03d", i), fmt.Sprintf("b-%03d", i), "Pipelines")
	}
	c := newConnector(t, f, token(teamcityfake.BobToken), nil)
	got, err := discoverAll(t, c, connectors.DiscoveryQuery{ResourceType: ResourceBuildTypes})
	checkCode(t, err, "")
	if len(got.Resources) != 200 || !slices.Equal(got.PageSizes, []int{100, 100}) || f.Count("GET /app/rest/buildTypes") != 2 {
		t.Fatalf("%d resources in pages %v from %d requests, want 200 in two from two", len(got.Resources), got.PageSizes, f.Count("GET /app/rest/buildTypes"))
	}
}

// addTeams adds Team_00 … Team_09 with 25 build types each (build-0 …
// build-24), and Team_01_Sub under Team_01 with 15 more.
func addTeams(f *teamcityfake.Server) {
	for p := range 10 {
		id := fmt.Sprintf("Team_%02d", p)
		f.AddProject(id, fmt.Sprintf("team-%02d", p), "")
		for i := range 25 {
			f.AddBuildType(fmt.Sprintf("%s_Build_%03d", id, i), fmt.Sprintf("build-%d", i), id)
		}
	}
	f.AddProject("Team_01_Sub", "sub", "Team_01")
	for i := range 15 {
		f.AddBuildType(fmt.Sprintf("Team_01_Sub_Build_%03d", i), fmt.Sprintf("sub-build-%d", i), "Team_01_Sub")
	}
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	f := teamcityfake.New(t)
	c := newConnector(t, f, token(teamcityfake.AliceToken), nil)
	f.Throttle("GET /app/rest/buildTypes", 12)
	err := c.CheckFunctionality(ctxT(t))
	connectortest.CheckRetryAfter(t, err, 12*time.Second, allSecrets...)
	timer, err := connectortest.Retry(ctxT(t), func(ctx context.Context) error {
		f.Throttle("POST /app/rest/buildQueue", 3)
		_, err := c.Trigger(ctx, teamcityfake.GreenBuildType, "", nil)
		return err
	})
	checkCode(t, err, resilience.RateLimited)
	if w := timer.Waits(); len(w) == 0 || w[0] != 3*time.Second {
		t.Fatalf("waits %v, want 3s first", w)
	}
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
		wantBranch string
		queued     int // POST /app/rest/buildQueue calls
	}{
		{name: "on the default branch", secret: token(teamcityfake.AliceToken), pipeline: teamcityfake.GreenBuildType, queued: 1},
		{name: "on a branch with parameters", secret: token(teamcityfake.AliceToken), pipeline: teamcityfake.GreenBuildType, ref: "release/1.0",
			params: map[string]string{"env.TARGET": "prod", "system.version": "1.0.3", "deploy.note": "a, b: (c)"}, wantBranch: "release/1.0", queued: 1},
		{name: "an unknown build type", secret: token(teamcityfake.AliceToken), pipeline: "Pipelines_Nope", want: resilience.ResourceNotFound, queued: 1},
		{name: "without Run build", secret: token(teamcityfake.BobToken), pipeline: teamcityfake.GreenBuildType, want: resilience.PermissionDenied, queued: 1},
		{name: "a wrong token", secret: token(wrongToken), pipeline: teamcityfake.GreenBuildType, want: resilience.AuthenticationFailed, queued: 1},
		{name: "a build type id that is a path", secret: token(teamcityfake.AliceToken), pipeline: "../server", want: resilience.InvalidConfig},
		{name: "an empty build type id", secret: token(teamcityfake.AliceToken), pipeline: "", want: resilience.InvalidConfig},
		{name: "a parameter name with a space", secret: token(teamcityfake.AliceToken), pipeline: teamcityfake.GreenBuildType,
			params: map[string]string{"env.A B": "x"}, want: resilience.InvalidConfig},
		{name: "a ref with a line break", secret: token(teamcityfake.AliceToken), pipeline: teamcityfake.GreenBuildType, ref: "main\nx", want: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := teamcityfake.New(t)
			c := newConnector(t, f, tc.secret, nil)
			run, err := c.Trigger(ctxT(t), tc.pipeline, tc.ref, tc.params)
			checkCode(t, err, tc.want)
			if n := f.Count("POST /app/rest/buildQueue"); n != tc.queued {
				t.Fatalf("%d POSTs to the queue, want %d", n, tc.queued)
			}
			if tc.want != "" {
				if len(f.Builds()) != 0 {
					t.Fatalf("a refused trigger queued %+v", f.Builds())
				}
				return
			}
			b := f.Builds()
			want := tc.params
			if want == nil {
				want = map[string]string{}
			}
			if len(b) != 1 || run.ID != fmt.Sprint(b[0].ID) || b[0].BuildType != tc.pipeline || b[0].Branch != tc.wantBranch || !maps.Equal(b[0].Params, want) {
				t.Fatalf("queued %+v as %+v, want %s on %q with %v", b, run, tc.pipeline, tc.wantBranch, want)
			}
			if run.Pipeline != tc.pipeline || run.Ref != tc.ref || run.WebURL != f.URL()+"/viewQueued.html?itemId="+run.ID {
				t.Fatalf("ref %+v", run)
			}
		})
	}
}

// TestFollowRun triggers a build and follows it as the pipeline runner
// does (each read with the Ref the last one returned) to its verdict;
// cancels it while queued and while running.
func TestFollowRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pipeline string
		cancelAt contracts.PipelineRunStatus
		want     []contracts.PipelineRunStatus
		number   string // the build's number at the end
		posts    []string
	}{
		{name: "to success", pipeline: teamcityfake.GreenBuildType, number: "1",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded}},
		{name: "to failure", pipeline: teamcityfake.RedBuildType, number: "1",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed}},
		{name: "removed from the queue", pipeline: teamcityfake.GreenBuildType, cancelAt: contracts.RunQueued, number: "N/A",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled}, posts: []string{"POST /app/rest/buildQueue/id"}},
		{name: "stopped while running", pipeline: teamcityfake.RedBuildType, cancelAt: contracts.RunRunning, number: "1",
			want:  []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunCancelled},
			posts: []string{"POST /app/rest/buildQueue/id", "POST /app/rest/builds/id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := teamcityfake.New(t)
			c := newConnector(t, f, token(teamcityfake.AliceToken), nil)
			run, err := c.Trigger(ctxT(t), tc.pipeline, "main", map[string]string{"env.TARGET": "prod"})
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, nil)
			run = got.Last.Ref
			if !slices.Equal(got.Seen, tc.want) {
				t.Fatalf("states %v, want %v", got.Seen, tc.want)
			}
			b := f.Builds()[0]
			if b.Number != tc.number || (tc.cancelAt != "") != (b.CancelNote == cancelComment) {
				t.Fatalf("build %+v, want number %s", b, tc.number)
			}
			for _, route := range tc.posts {
				if f.Count(route) != 1 {
					t.Fatalf("%s called %d times, want 1", route, f.Count(route))
				}
			}
			if want := f.URL() + "/buildConfiguration/" + tc.pipeline + "/" + run.ID; run.WebURL != want || run.Pipeline != tc.pipeline {
				t.Fatalf("ref %+v, want the build's page %s", run, want)
			}
		})
	}
	t.Run("cancelling a finished build is done", func(t *testing.T) {
		t.Parallel()
		f := teamcityfake.New(t)
		c := newConnector(t, f, token(teamcityfake.AliceToken), nil)
		run, err := c.Trigger(ctxT(t), teamcityfake.GreenBuildType, "", nil)
		checkCode(t, err, "")
		for range 3 {
			_, err = c.RunStatus(ctxT(t), run)
			checkCode(t, err, "")
		}
		checkCode(t, c.CancelRun(ctxT(t), run), "")
		if b := f.Builds()[0]; b.Cancelled || b.Status != teamcityfake.Success {
			t.Fatalf("a finished build changed: %+v", b)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		f := teamcityfake.New(t)
		alice := newConnector(t, f, token(teamcityfake.AliceToken), nil)
		run, err := alice.Trigger(ctxT(t), teamcityfake.GreenBuildType, "", nil)
		checkCode(t, err, "")
		bob := newConnector(t, f, token(teamcityfake.BobToken), nil)
		checkCode(t, bob.CancelRun(ctxT(t), run), resilience.PermissionDenied)
		wrong := newConnector(t, f, token(wrongToken), nil)
		cicdtest.Refuses(t, ctxT(t), wrong, cicdtest.ReadAndCancel, resilience.AuthenticationFailed, allSecrets, run)
		cicdtest.Refuses(t, ctxT(t), alice, cicdtest.ReadAndCancel, resilience.ResourceNotFound, allSecrets, connectors.RunRef{ID: "999"})
		for _, id := range []string{"", "0", "-1", "id:101", "101/../x", "0101", "1e3"} {
			cicdtest.Refuses(t, ctxT(t), alice, cicdtest.ReadAndCancel, resilience.InvalidConfig, allSecrets, connectors.RunRef{ID: id})
		}
		f.Throttle("GET /app/rest/builds/id", 7)
		_, err = alice.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
		if b := f.Builds(); len(b) != 1 || b[0].Cancelled {
			t.Fatalf("refused calls changed the build: %+v", b)
		}
	})
}

func TestSpec(t *testing.T) {
	t.Parallel()
	connectortest.CheckConfigs(t, Spec, []connectortest.ConfigCase{
		{Name: "url", Config: map[string]any{"url": "https://teamcity.example.com/"}, OK: true},
		{Name: "under a context path with a project", Config: map[string]any{"url": "https://ci.example.com/teamcity", "project": "Shop_Backend"}, OK: true},
		{Name: "no url", Config: map[string]any{"project": "Shop"}, OK: false},
		{Name: "a project id with a dash", Config: map[string]any{"url": "https://ci.example.com", "project": "shop-backend"}, OK: false},
		{Name: "a project id starting with a digit", Config: map[string]any{"url": "https://ci.example.com", "project": "1Shop"}, OK: false},
		{Name: "unknown field", Config: map[string]any{"url": "https://ci.example.com", "buildType": "x"}, OK: false},
	}...)
}
