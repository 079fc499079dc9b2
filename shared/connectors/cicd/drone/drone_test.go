package drone

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
	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/dronefake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	level := func(name string) func(*Connector) func(context.Context) error {
		return func(c *Connector) func(context.Context) error {
			return map[string]func(context.Context) error{"connectivity": c.CheckConnectivity, "authentication": c.CheckAuthentication,
				"functionality": c.CheckFunctionality}[name]
		}
	}
	tests := []struct {
		name   string
		level  string
		secret string
		want   resilience.Code
		route  string
	}{
		{name: "connectivity without the token", level: "connectivity", secret: token(wrongToken), route: "GET /api/user"},
		{name: "authentication", level: "authentication", secret: token(dronefake.BobToken), route: "GET /api/user"},
		{name: "authentication with a plain token value", level: "authentication", secret: dronefake.AliceToken, route: "GET /api/user"},
		{name: "a wrong token is a guest", level: "authentication", secret: token(wrongToken), want: resilience.AuthenticationFailed, route: "GET /api/user"},
		{name: "functionality", level: "functionality", secret: token(dronefake.BobToken), route: "GET /api/user/repos"},
		{name: "functionality with a wrong token", level: "functionality", secret: token(wrongToken), want: resilience.AuthenticationFailed, route: "GET /api/user/repos"},
		{name: "a basic credential is no token", level: "authentication", secret: `{"username":"a","password":"b"}`, want: resilience.InvalidConfig, route: "GET /api/user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := dronefake.New(t)
			c := newConnector(t, f, tc.secret, nil)
			checkCode(t, level(tc.level)(c)(ctxT(t)), tc.want)
			want := 1
			if tc.want == resilience.InvalidConfig {
				want = 0
			}
			if n := f.Count(tc.route); n != want {
				t.Fatalf("%s called %d times, want %d", tc.route, n, want)
			}
		})
	}
}

func TestConnectivityRefusesWhatIsNotDrone(t *testing.T) {
	t.Parallel()
	connectortest.CheckAnswers(t, connectortest.Setup{Spec: Spec, EnvVar: credEnv, Secret: token(wrongToken)}, allSecrets,
		connectortest.Answer{Name: "Drone asking for a token", Status: http.StatusUnauthorized},
		connectortest.Answer{Name: "nothing there", Status: http.StatusNotFound, Want: resilience.ResourceNotFound},
		connectortest.Answer{Name: "a proxy error", Status: http.StatusBadGateway, Want: resilience.UpstreamError})
}

// TestDiscovery pages through 250 builds with Drone's page and per_page,
// and through 32 repositories of one unpaged answer.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	hello := filter{Repository: dronefake.HelloWorld}
	tests := []struct {
		name     string
		config   map[string]any
		q        query
		count    int
		first    string
		pages    []int
		route    string
		requests int
		code     resilience.Code
	}{
		{name: "builds in pages of 100, newest first", q: query{ResourceType: ResourceBuilds, Filter: hello}, count: 250, first: "250",
			pages: []int{100, 100, 50}, route: "GET /api/repos/:owner/:name/builds", requests: 3},
		{name: "builds in pages of 60", q: query{ResourceType: ResourceBuilds, PageSize: 60, Filter: hello}, count: 250, first: "250",
			// Pages 2 and 4 span two Drone pages.
			pages: []int{60, 60, 60, 60, 10}, route: "GET /api/repos/:owner/:name/builds", requests: 7},
		{name: "builds filtered by number", q: query{ResourceType: ResourceBuilds, Filter: filter{Repository: dronefake.HelloWorld, NamePattern: "1?"}},
			count: 10, first: "19", pages: []int{10}, route: "GET /api/repos/:owner/:name/builds", requests: 3},
		{name: "a repository without builds", q: query{ResourceType: ResourceBuilds, Filter: filter{Repository: dronefake.Broken}},
			count: 0, route: "GET /api/repos/:owner/:name/builds", requests: 1},
		{name: "repositories", q: query{ResourceType: ResourceRepositories, PageSize: 10}, count: 32, first: dronefake.HelloWorld,
			pages: []int{10, 10, 10, 2}, route: "GET /api/user/repos", requests: 4},
		{name: "repositories of a namespace", config: map[string]any{"namespace": "team-b"}, q: query{ResourceType: ResourceRepositories},
			count: 10, first: "team-b/svc-00", pages: []int{10}, route: "GET /api/user/repos", requests: 1},
		{name: "repositories by their name alone", q: query{ResourceType: ResourceRepositories, Filter: filter{NamePattern: "svc-0[0-2]"}},
			count: 9, first: "team-a/svc-00", pages: []int{9}, route: "GET /api/user/repos", requests: 1},
		{name: "builds of an unknown repository", q: query{ResourceType: ResourceBuilds, Filter: filter{Repository: "octocat/nope"}},
			code: resilience.ResourceNotFound, route: "GET /api/repos/:owner/:name/builds", requests: 1},
		{name: "builds without a repository", q: query{ResourceType: ResourceBuilds}, code: resilience.InvalidConfig},
		{name: "builds of a repository path that climbs", q: query{ResourceType: ResourceBuilds, Filter: filter{Repository: "../admin"}}, code: resilience.InvalidConfig},
		{name: "unknown resource type", q: query{ResourceType: "pipelines"}, code: resilience.NotSupported},
		{name: "bad pattern", q: query{ResourceType: ResourceRepositories, Filter: filter{NamePattern: "["}}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := dronefake.New(t)
			for _, team := range []string{"team-a", "team-b", "team-c"} {
				for i := range 10 {
					f.AddRepo(dronefake.Repo{Owner: team, Name: fmt.Sprintf("svc-%02d", i), Active: true})
				}
			}
			f.AddHistory(dronefake.HelloWorld, 250)
			c := newConnector(t, f, token(dronefake.BobToken), tc.config)
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if tc.route != "" && f.Count(tc.route) != tc.requests {
				t.Fatalf("%s called %d times, want %d", tc.route, f.Count(tc.route), tc.requests)
			}
			if tc.code != "" {
				return
			}
			cicdtest.CheckListed(t, got, tc.q.ResourceType, cicdtest.Listed{Count: tc.count, First: tc.first, Pages: tc.pages}, cicdtest.Name, nil)
		})
	}
	t.Run("a cursor of another repository", func(t *testing.T) {
		t.Parallel()
		f := dronefake.New(t)
		f.AddHistory(dronefake.HelloWorld, 150)
		c := newConnector(t, f, token(dronefake.BobToken), nil)
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceBuilds, PageSize: 120, Filter: contracts.DiscoveryFilter{Repository: dronefake.HelloWorld}})
		checkCode(t, err, "")
		_, err = c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourceBuilds, Cursor: page.NextCursor, Filter: contracts.DiscoveryFilter{Repository: dronefake.Broken}})
		checkCode(t, err, resilience.InvalidConfig)
	})
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	f := dronefake.New(t)
	c := newConnector(t, f, token(dronefake.AliceToken), nil)
	f.Throttle("GET /api/user/repos", 12)
	err := c.CheckFunctionality(ctxT(t))
	connectortest.CheckRetryAfter(t, err, 12*time.Second, allSecrets...)
	f.Throttle("POST /api/repos/:owner/:name/builds", 3)
	connectortest.CheckRetried(t, func(ctx context.Context) error {
		_, err := c.Trigger(ctx, dronefake.HelloWorld, "", nil)
		return err
	}, []time.Duration{3 * time.Second}, allSecrets...)
	if n := len(f.Builds(dronefake.HelloWorld)); n != 1 {
		t.Fatalf("%d builds after a throttled trigger and its retry, want 1", n)
	}
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	helloMain := "refs/heads/main"
	tests := []struct {
		name       string
		secret     string
		pipeline   string
		ref        string
		params     map[string]string
		skip       bool
		want       resilience.Code
		wantRef    string
		wantCommit string
		posts      int
	}{
		{name: "on the default branch", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld, wantRef: helloMain, posts: 1},
		{name: "on a branch with parameters", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld, ref: "release/1.0",
			params: map[string]string{"TARGET": "prod", "NOTE": "a&b=c d", "message": "deploy"}, wantRef: "refs/heads/release/1.0", posts: 1},
		{name: "on a commit", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld, ref: "", wantRef: helloMain, posts: 1, wantCommit: "main"},
		{name: "an unknown branch", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld, ref: "nope", want: resilience.ResourceNotFound, posts: 1},
		{name: "an unknown commit", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld, ref: "0123456789abcdef0123456789abcdef01234567",
			want: resilience.ResourceNotFound, posts: 1},
		{name: "an unknown repository", secret: token(dronefake.AliceToken), pipeline: "octocat/nope", want: resilience.ResourceNotFound, posts: 1},
		{name: "without write access Drone answers 404", secret: token(dronefake.BobToken), pipeline: dronefake.HelloWorld, want: resilience.ResourceNotFound, posts: 1},
		{name: "a wrong token", secret: token(wrongToken), pipeline: dronefake.HelloWorld, want: resilience.AuthenticationFailed, posts: 1},
		{name: "a build Drone skips", secret: token(dronefake.AliceToken), pipeline: "octocat/skipper", skip: true, want: resilience.InvalidConfig, posts: 1},
		{name: "a parameter Drone keeps for itself", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld,
			params: map[string]string{"branch": "x"}, want: resilience.InvalidConfig},
		{name: "a repository that is no slug", secret: token(dronefake.AliceToken), pipeline: "hello-world", want: resilience.InvalidConfig},
		{name: "a repository path that climbs", secret: token(dronefake.AliceToken), pipeline: "octocat/..", want: resilience.InvalidConfig},
		{name: "a ref with a space", secret: token(dronefake.AliceToken), pipeline: dronefake.HelloWorld, ref: "main x", want: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := dronefake.New(t)
			f.AddRepo(dronefake.Repo{Owner: "octocat", Name: "skipper", Active: true, SkipBuilds: true})
			ref := tc.ref
			if tc.wantCommit != "" {
				// The branch's commit, as a caller would pass a sha.
				ref = dronefake.Commit(tc.pipeline, tc.wantCommit)
			}
			c := newConnector(t, f, tc.secret, nil)
			run, err := c.Trigger(ctxT(t), tc.pipeline, ref, tc.params)
			checkCode(t, err, tc.want)
			if n := f.Count("POST /api/repos/:owner/:name/builds"); n != tc.posts {
				t.Fatalf("%d POSTs, want %d", n, tc.posts)
			}
			if tc.want != "" {
				if len(f.Builds(tc.pipeline)) != 0 {
					t.Fatalf("a refused trigger started %+v", f.Builds(tc.pipeline))
				}
				return
			}
			b := f.Builds(tc.pipeline)
			want := tc.params
			if want == nil {
				want = map[string]string{}
			}
			if len(b) != 1 || run.ID != "1" || b[0].Ref != tc.wantRef || !maps.Equal(b[0].Params, want) || (tc.wantCommit != "" && b[0].Commit != ref) {
				t.Fatalf("started %+v as %+v, want %s with %v", b, run, tc.wantRef, want)
			}
			if run.Pipeline != tc.pipeline || run.Ref != ref || run.WebURL != f.URL()+"/"+tc.pipeline+"/1" {
				t.Fatalf("ref %+v", run)
			}
		})
	}
}

// TestFollowRun starts a build and follows it as the pipeline runner does
// (each read with the Ref the last one returned) to its verdict, stage
// and steps included; cancels it while pending and while running.
func TestFollowRun(t *testing.T) {
	t.Parallel()
	type job = contracts.PipelineJob
	tests := []struct {
		name     string
		pipeline string
		cancelAt contracts.PipelineRunStatus
		want     []contracts.PipelineRunStatus
		jobs     []job
	}{
		{name: "to success", pipeline: dronefake.HelloWorld,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded},
			jobs: []job{{Name: "clone", Stage: "default", Status: "succeeded"}, {Name: "build", Stage: "default", Status: "succeeded"}, {Name: "test", Stage: "default", Status: "succeeded"}}},
		{name: "to failure", pipeline: dronefake.Broken,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed},
			jobs: []job{{Name: "clone", Stage: "default", Status: "succeeded"}, {Name: "build", Stage: "default", Status: "succeeded"}, {Name: "test", Stage: "default", Status: "failed"}}},
		{name: "killed while pending", pipeline: dronefake.HelloWorld, cancelAt: contracts.RunQueued,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled},
			jobs: []job{{Name: "clone", Stage: "default", Status: "skipped"}, {Name: "build", Stage: "default", Status: "skipped"}, {Name: "test", Stage: "default", Status: "skipped"}}},
		{name: "killed while running", pipeline: dronefake.Broken, cancelAt: contracts.RunRunning,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunCancelled},
			jobs: []job{{Name: "clone", Stage: "default", Status: "succeeded"}, {Name: "build", Stage: "default", Status: "cancelled"}, {Name: "test", Stage: "default", Status: "skipped"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := dronefake.New(t)
			c := newConnector(t, f, token(dronefake.AliceToken), nil)
			run, err := c.Trigger(ctxT(t), tc.pipeline, "main", map[string]string{"TARGET": "prod"})
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, nil)
			run = got.Last.Ref
			if !slices.Equal(got.Seen, tc.want) {
				t.Fatalf("states %v, want %v", got.Seen, tc.want)
			}
			if !slices.Equal(got.Last.Jobs, tc.jobs) {
				t.Fatalf("jobs %+v, want %+v", got.Last.Jobs, tc.jobs)
			}
			if run.WebURL != f.URL()+"/"+tc.pipeline+"/1" || run.ID != "1" {
				t.Fatalf("ref %+v", run)
			}
			if n := f.Count("DELETE /api/repos/:owner/:name/builds/:number"); (tc.cancelAt != "") != (n == 1) {
				t.Fatalf("%d DELETEs", n)
			}
		})
	}
	t.Run("cancelling a finished build leaves it", func(t *testing.T) {
		t.Parallel()
		f := dronefake.New(t)
		c := newConnector(t, f, token(dronefake.AliceToken), nil)
		run, err := c.Trigger(ctxT(t), dronefake.HelloWorld, "", nil)
		checkCode(t, err, "")
		for range 3 {
			_, err = c.RunStatus(ctxT(t), run)
			checkCode(t, err, "")
		}
		checkCode(t, c.CancelRun(ctxT(t), run), "")
		if b := f.Builds(dronefake.HelloWorld)[0]; b.Status != dronefake.Success {
			t.Fatalf("a finished build changed: %+v", b)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		f := dronefake.New(t)
		alice := newConnector(t, f, token(dronefake.AliceToken), nil)
		run, err := alice.Trigger(ctxT(t), dronefake.Broken, "", nil)
		checkCode(t, err, "")
		bob := newConnector(t, f, token(dronefake.BobToken), nil)
		checkCode(t, bob.CancelRun(ctxT(t), run), resilience.ResourceNotFound)
		wrong := newConnector(t, f, token(wrongToken), nil)
		// octocat/broken is private: a guest gets 401.
		cicdtest.Refuses(t, ctxT(t), wrong, cicdtest.ReadAndCancel, resilience.AuthenticationFailed, allSecrets, run)
		cicdtest.Refuses(t, ctxT(t), alice, cicdtest.ReadAndCancel, resilience.ResourceNotFound, allSecrets,
			connectors.RunRef{ID: "99", Pipeline: dronefake.Broken}, connectors.RunRef{ID: "1", Pipeline: "octocat/nope"})
		cicdtest.Refuses(t, ctxT(t), alice, cicdtest.ReadAndCancel, resilience.InvalidConfig, allSecrets,
			connectors.RunRef{ID: "1"}, connectors.RunRef{ID: "", Pipeline: dronefake.Broken}, connectors.RunRef{ID: "-1", Pipeline: dronefake.Broken},
			connectors.RunRef{ID: "01", Pipeline: dronefake.Broken}, connectors.RunRef{ID: "1/../2", Pipeline: dronefake.Broken},
			connectors.RunRef{ID: "1", Pipeline: "octocat/../x"})
		f.Throttle("GET /api/repos/:owner/:name/builds/:number", 7)
		_, err = alice.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
		if b := f.Builds(dronefake.Broken); len(b) != 1 || b[0].Status != dronefake.Pending {
			t.Fatalf("refused calls changed the build: %+v", b)
		}
	})
}

func TestSpec(t *testing.T) {
	t.Parallel()
	connectortest.CheckConfigs(t, Spec, []connectortest.ConfigCase{
		{Name: "url", Config: map[string]any{"url": "https://drone.example.com/"}, OK: true},
		{Name: "with a namespace", Config: map[string]any{"url": "https://drone.example.com", "namespace": "octo.cat_x-1"}, OK: true},
		{Name: "no url", Config: map[string]any{"namespace": "octocat"}, OK: false},
		{Name: "a namespace with a slash", Config: map[string]any{"url": "https://drone.example.com", "namespace": "a/b"}, OK: false},
		{Name: "a namespace that climbs", Config: map[string]any{"url": "https://drone.example.com", "namespace": ".."}, OK: false},
		{Name: "unknown field", Config: map[string]any{"url": "https://drone.example.com", "repo": "x"}, OK: false},
	}...)
}
