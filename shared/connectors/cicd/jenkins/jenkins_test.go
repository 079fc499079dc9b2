package jenkins

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"

	"github.com/stella-ops/inthub/shared/connectors/cicd/jenkins/jenkinsfake"
)

func TestChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		level    contracts.CheckType
		secret   string
		noRef    bool
		anonRead bool
		want     resilience.Code
		route    string
		calls    int
	}{
		{name: "connectivity: anonymous gets 403 from Jenkins", level: contracts.CheckConnectivity, secret: basic("alice", "wrong-token-123456"),
			route: "GET /api/json", calls: 1},
		{name: "authentication with an API token", level: contracts.CheckAuthentication, secret: basic("alice", jenkinsfake.AliceToken), route: "GET /me/api/json", calls: 1},
		{name: "authentication with user:token", level: contracts.CheckAuthentication, secret: "alice:" + jenkinsfake.AliceToken, route: "GET /me/api/json", calls: 1},
		{name: "authentication with a password", level: contracts.CheckAuthentication, secret: basic("alice", jenkinsfake.AlicePassword), route: "GET /me/api/json", calls: 1},
		{name: "wrong token", level: contracts.CheckAuthentication, secret: basic("alice", "wrong-token-123456"),
			want: resilience.AuthenticationFailed, route: "GET /me/api/json", calls: 1},
		{name: "unknown user", level: contracts.CheckAuthentication, secret: basic("mallory", jenkinsfake.AliceToken),
			want: resilience.AuthenticationFailed, route: "GET /me/api/json", calls: 1},
		{name: "no credentials: 403 to anonymous", level: contracts.CheckAuthentication, noRef: true,
			want: resilience.AuthenticationFailed, route: "GET /me/api/json", calls: 1},
		{name: "no credentials where anonymous may read", level: contracts.CheckAuthentication, noRef: true, anonRead: true,
			want: resilience.AuthenticationFailed, route: "GET /me/api/json", calls: 1},
		{name: "a user without Overall/Read", level: contracts.CheckAuthentication, secret: basic("carol", "11cc0c9f2d84b1c9e5f7a3b2c1d0e9f8cc"),
			want: resilience.PermissionDenied, route: "GET /me/api/json", calls: 1},
		{name: "a token alone is not basic credentials", level: contracts.CheckAuthentication, secret: `{"token":"x"}`,
			want: resilience.InvalidConfig, route: "GET /me/api/json", calls: 0},
		{name: "functionality", level: contracts.CheckFunctionality, secret: basic("bob", jenkinsfake.BobToken), route: "GET /api/json", calls: 1},
		{name: "functionality with a wrong token", level: contracts.CheckFunctionality, secret: basic("bob", "wrong-token-123456"),
			want: resilience.AuthenticationFailed, route: "GET /api/json", calls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := jenkinsfake.New(t)
			f.SetAnonymousRead(tc.anonRead)
			f.AddStandardTree()
			c := newConnector(t, f, setup{secret: tc.secret, noRef: tc.noRef})
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

func TestConnectivityRefusesWhatIsNotJenkins(t *testing.T) {
	t.Parallel()
	connectortest.CheckAnswers(t, connectortest.Setup{Spec: Spec, EnvVar: credEnv, NoRef: true}, allSecrets,
		connectortest.Answer{Name: "a web server", Status: http.StatusOK, Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a login wall", Status: http.StatusForbidden, Want: resilience.InvalidConfig},
		connectortest.Answer{Name: "a proxy error", Status: http.StatusBadGateway, Want: resilience.UpstreamError},
		connectortest.Answer{Name: "nothing there", Status: http.StatusNotFound, Want: resilience.ResourceNotFound})
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	type query = connectors.DiscoveryQuery
	type filter = contracts.DiscoveryFilter
	tests := []struct {
		name   string
		config map[string]any
		q      query
		count  int
		first  string // the first name
		pages  []int
		walks  int // GET /api/json calls (one per page)
		deep   int // GET /job/*/api/json calls (folders beyond three levels)
		code   resilience.Code
	}{
		{name: "jobs in pages of 100", q: query{ResourceType: ResourceJobs}, count: 250, first: "app-000",
			pages: []int{100, 100, 50}, walks: 3, deep: 3},
		{name: "pipelines: Pipeline jobs and multibranch projects", q: query{ResourceType: ResourcePipelines}, count: 111, first: "mono",
			pages: []int{100, 11}, walks: 2, deep: 2},
		{name: "jobs of a folder", q: query{ResourceType: ResourceJobs, PageSize: 50, Filter: filter{NamePattern: "team-a/*"}},
			count: 60, first: "team-a/svc-00", pages: []int{50, 10}, walks: 2, deep: 2},
		{name: "jobs four folders deep", q: query{ResourceType: ResourceJobs, Filter: filter{NamePattern: "team-b/nested/deeper/deepest/*"}},
			count: 40, first: "team-b/nested/deeper/deepest/job-00", pages: []int{40}, walks: 1, deep: 1},
		{name: "branch jobs by their last segment", q: query{ResourceType: ResourcePipelines, Filter: filter{NamePattern: "main"}},
			count: 1, first: "mono/main", pages: []int{1}, walks: 1, deep: 1},
		{name: "discovery from a folder", config: map[string]any{"folder": "team-b"}, q: query{ResourceType: ResourceJobs},
			count: 40, first: "team-b/nested/deeper/deepest/job-00", pages: []int{40}, walks: 0, deep: 2},
		{name: "an unknown folder", config: map[string]any{"folder": "nope"}, q: query{ResourceType: ResourceJobs}, code: resilience.ResourceNotFound},
		{name: "unknown resource type", q: query{ResourceType: "repositories"}, code: resilience.NotSupported},
		{name: "bad cursor", q: query{ResourceType: ResourceJobs, Cursor: "eyJvIjotMX0"}, code: resilience.InvalidConfig},
		{name: "bad pattern", q: query{ResourceType: ResourceJobs, Filter: filter{NamePattern: "["}}, code: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := jenkinsfake.New(t)
			f.AddStandardTree()
			c := newConnector(t, f, setup{config: tc.config, secret: basic("bob", jenkinsfake.BobToken)})
			got, err := discoverAll(t, c, tc.q)
			checkCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if len(got.Names) != tc.count || got.Names[0] != tc.first || !slices.IsSorted(got.Names) {
				t.Fatalf("discovered %d names starting %q (sorted: %v), want %d starting %q", len(got.Names), got.Names[0], slices.IsSorted(got.Names), tc.count, tc.first)
			}
			if !slices.Equal(got.PageSizes, tc.pages) {
				t.Fatalf("page sizes %v, want %v", got.PageSizes, tc.pages)
			}
			if w, d := f.Count("GET /api/json"), f.Count("GET /job/*/api/json"); w != tc.walks || d != tc.deep {
				t.Fatalf("%d root and %d folder requests, want %d and %d", w, d, tc.walks, tc.deep)
			}
			for _, r := range got.Resources {
				class, _ := r.Attributes["class"].(string)
				if r.Type != tc.q.ResourceType || r.ID != r.Name || class == jenkinsfake.ClassFolder ||
					(tc.q.ResourceType == ResourcePipelines && class != classWorkflowJob && class != classWorkflowMultiBranch) {
					t.Fatalf("resource %+v does not belong", r)
				}
			}
		})
	}
	t.Run("shapes", func(t *testing.T) {
		t.Parallel()
		f := jenkinsfake.New(t)
		f.AddStandardTree()
		c := newConnector(t, f, setup{secret: basic("bob", jenkinsfake.BobToken)})
		page, err := c.Discover(ctxT(t), connectors.DiscoveryQuery{ResourceType: ResourcePipelines, Filter: contracts.DiscoveryFilter{NamePattern: "feature%2Fx-00"}})
		checkCode(t, err, "")
		r := page.Items[0]
		if r.Name != "mono/feature%2Fx-00" || r.Attributes["folder"] != "mono" || r.Attributes["color"] != "blue" ||
			r.Attributes["url"] != f.URL()+"/job/mono/job/feature%252Fx-00/" {
			t.Fatalf("branch job %+v", r)
		}
	})
}

func TestRateLimitedByAProxy(t *testing.T) {
	t.Parallel()
	f := jenkinsfake.New(t)
	f.AddStandardTree()
	c := newConnector(t, f, setup{secret: basic("alice", jenkinsfake.AliceToken)})
	f.Throttle("GET /api/json", 12)
	err := c.CheckFunctionality(ctxT(t))
	connectortest.CheckRetryAfter(t, err, 12*time.Second, allSecrets...)
	f.Throttle("GET /api/json", 12)
	connectortest.CheckRetried(t, func(ctx context.Context) error {
		_, err := c.Discover(ctx, connectors.DiscoveryQuery{ResourceType: ResourceJobs, PageSize: 5})
		return err
	}, []time.Duration{12 * time.Second}, allSecrets...)
	if n := f.Count("GET /api/json"); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
}

func TestTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		config     map[string]any
		secret     string
		noCSRF     bool
		job, ref   string
		params     map[string]string
		want       resilience.Code
		wantJob    string
		wantParams url.Values
		posts      int
	}{
		{name: "a freestyle job with an API token", job: "app-000", secret: basic("alice", jenkinsfake.AliceToken), wantJob: "app-000", wantParams: url.Values{}, posts: 1},
		{name: "with a password: crumb and session", job: "app-000", secret: basic("alice", jenkinsfake.AlicePassword), wantJob: "app-000", wantParams: url.Values{}, posts: 1},
		{name: "with a password, CSRF protection off", noCSRF: true, job: "app-000", secret: basic("alice", jenkinsfake.AlicePassword),
			wantJob: "app-000", wantParams: url.Values{}, posts: 1},
		{name: "parameters", job: "team-a/svc-00", params: map[string]string{"TARGET": "prod"}, secret: basic("alice", jenkinsfake.AlicePassword),
			wantJob: "team-a/svc-00", wantParams: url.Values{"TARGET": {"prod"}}, posts: 1},
		{name: "a parameterized job with its defaults", job: "team-a/svc-00", secret: basic("alice", jenkinsfake.AliceToken),
			wantJob: "team-a/svc-00", wantParams: url.Values{}, posts: 1},
		{name: "ref as a parameter", config: map[string]any{"refParameter": "BRANCH"}, job: "team-a/svc-01", ref: "release/1.0",
			params: map[string]string{"TARGET": "qa"}, secret: basic("alice", jenkinsfake.AliceToken),
			wantJob: "team-a/svc-01", wantParams: url.Values{"TARGET": {"qa"}, "BRANCH": {"release/1.0"}}, posts: 1},
		{name: "ref as a multibranch branch", job: "mono", ref: "feature/x-03", secret: basic("alice", jenkinsfake.AliceToken),
			wantJob: "mono/feature%2Fx-03", wantParams: url.Values{}, posts: 1},
		{name: "a multibranch project without ref", job: "mono", secret: basic("alice", jenkinsfake.AliceToken), want: resilience.InvalidConfig},
		{name: "parameters to a job without", job: "app-000", params: map[string]string{"X": "1"}, secret: basic("alice", jenkinsfake.AliceToken), want: resilience.InvalidConfig},
		{name: "a disabled job", job: "app-099", secret: basic("alice", jenkinsfake.AliceToken), want: resilience.InvalidConfig},
		{name: "a folder", job: "team-a", secret: basic("alice", jenkinsfake.AliceToken), want: resilience.InvalidConfig},
		{name: "an unknown job", job: "team-a/nope", secret: basic("alice", jenkinsfake.AliceToken), want: resilience.ResourceNotFound},
		{name: "without Job/Build", job: "app-000", secret: basic("bob", jenkinsfake.BobToken), want: resilience.PermissionDenied, posts: 1},
		{name: "wrong token", job: "app-000", secret: basic("alice", "wrong-token-123456"), want: resilience.AuthenticationFailed},
		{name: "a job name that climbs", job: "team-a/../app-000", secret: basic("alice", jenkinsfake.AliceToken), want: resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := jenkinsfake.New(t)
			f.SetCSRF(!tc.noCSRF)
			f.AddStandardTree()
			c := newConnector(t, f, setup{config: tc.config, secret: tc.secret})
			id, err := c.Trigger(ctxT(t), tc.job, tc.ref, tc.params)
			checkCode(t, err, tc.want)
			posts := f.Count("POST /job/*/build") + f.Count("POST /job/*/buildWithParameters")
			if posts != tc.posts {
				t.Fatalf("%d POSTs, want %d", posts, tc.posts)
			}
			if tc.want != "" {
				return
			}
			b := f.Builds()
			if id.ID != "queue:101" || len(b) != 1 || b[0].Job != tc.wantJob || b[0].Params.Encode() != tc.wantParams.Encode() {
				t.Fatalf("queued %+v as %q, want %s with %v", b, id, tc.wantJob, tc.wantParams)
			}
		})
	}
}

func TestQueueItem(t *testing.T) {
	t.Parallel()
	for loc, want := range map[string]string{
		"https://ci.example/queue/item/42/":       "queue:42",
		"https://ci.example/jenkins/queue/item/7": "queue:7",
		"https://ci.example/job/x/":               "",
		"":                                        "",
		"https://ci.example/queue/item/42/?x=y#top": "queue:42",
	} {
		if got := queueItem(loc); got != want {
			t.Errorf("queueItem(%q) = %q, want %q", loc, got, want)
		}
	}
}

func TestTreeSpec(t *testing.T) {
	t.Parallel()
	if got := treeSpec(3); got != "jobs[name,url,color,_class,jobs[name,url,color,_class,jobs[name,url,color,_class]]]" {
		t.Fatalf("treeSpec(3) = %s", got)
	}
	if err := jenkinsfake.ParseTree(treeSpec(3)); err != nil {
		t.Fatalf("the fake cannot parse our tree: %v", err)
	}
	if got := jobPath("a b/feature%2Fx"); got != "/job/a%20b/job/feature%252Fx" {
		t.Fatalf("jobPath = %s", got)
	}
	if !strings.HasPrefix(Spec.ID, "jenkins") {
		t.Fatal("spec id")
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	connectortest.CheckConfigs(t, Spec, []connectortest.ConfigCase{
		{Name: "url", Config: map[string]any{"url": "https://jenkins.example.com/"}, OK: true},
		{Name: "every field", Config: map[string]any{"url": "https://ci.example.com/jenkins", "folder": "team-a", "refParameter": "BRANCH"}, OK: true},
		{Name: "no url", Config: map[string]any{"folder": "x"}, OK: false},
		{Name: "unknown field", Config: map[string]any{"url": "https://ci.example.com", "job": "x"}, OK: false},
	}...)
	_, err := New(context.Background(), connectors.Instance{Integration: contracts.Integration{Config: map[string]any{"url": "https://ci.example", "folder": "a/../b"}}, HTTP: connectortest.HTTP(t, nil, nil)})
	checkCode(t, err, resilience.InvalidConfig)
}

// TestFollowRun triggers a build and follows it as the pipeline runner
// does (each read with the Ref the last one returned): queue item, then
// build, to its verdict; cancels it while queued and while running.
func TestFollowRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		secret   string
		verdict  string
		cancelAt contracts.PipelineRunStatus
		want     []contracts.PipelineRunStatus
	}{
		{name: "to success", secret: basic("alice", jenkinsfake.AliceToken),
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunSucceeded}},
		{name: "to failure", secret: basic("alice", jenkinsfake.AliceToken), verdict: "FAILURE",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed}},
		{name: "unstable fails", secret: basic("alice", jenkinsfake.AliceToken), verdict: "UNSTABLE",
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunFailed}},
		{name: "cancelled while queued, with a password and crumb", secret: basic("alice", jenkinsfake.AlicePassword), cancelAt: contracts.RunQueued,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunCancelled}},
		{name: "stopped while running", secret: basic("alice", jenkinsfake.AlicePassword), cancelAt: contracts.RunRunning,
			want: []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, contracts.RunCancelled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := jenkinsfake.New(t)
			f.AddStandardTree()
			f.SetVerdict(tc.verdict)
			c := newConnector(t, f, setup{secret: tc.secret})
			run, err := c.Trigger(ctxT(t), "team-a/svc-00", "", map[string]string{"TARGET": "prod"})
			checkCode(t, err, "")
			got := cicdtest.FollowRun(t, ctxT(t), c, run, tc.cancelAt, allSecrets, nil)
			run = got.Last.Ref
			if !slices.Equal(got.Seen, tc.want) {
				t.Fatalf("states %v, want %v", got.Seen, tc.want)
			}
			if tc.want[len(tc.want)-1] != contracts.RunCancelled || tc.cancelAt == contracts.RunRunning {
				if run.ID != "build:1" || run.WebURL != f.URL()+"/job/team-a/job/svc-00/1/" || run.Pipeline != "team-a/svc-00" {
					t.Fatalf("ref %+v, want build:1 with its page", run)
				}
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		f := jenkinsfake.New(t)
		f.AddStandardTree()
		alice := newConnector(t, f, setup{secret: basic("alice", jenkinsfake.AliceToken)})
		run, err := alice.Trigger(ctxT(t), "app-000", "", nil)
		checkCode(t, err, "")
		bob := newConnector(t, f, setup{secret: basic("bob", jenkinsfake.BobToken)})
		checkCode(t, bob.CancelRun(ctxT(t), run), resilience.PermissionDenied)
		wrong := newConnector(t, f, setup{secret: basic("alice", "wrong-token-123456")})
		_, err = wrong.RunStatus(ctxT(t), run)
		checkCode(t, err, resilience.AuthenticationFailed)
		cicdtest.Refuses(t, ctxT(t), alice, cicdtest.Read, resilience.ResourceNotFound, allSecrets,
			connectors.RunRef{ID: "queue:999"}, connectors.RunRef{ID: "build:7", Pipeline: "app-000"}, connectors.RunRef{ID: "build:1", Pipeline: "nope"})
		cicdtest.Refuses(t, ctxT(t), alice, cicdtest.Read, resilience.InvalidConfig, allSecrets,
			connectors.RunRef{ID: "../x"}, connectors.RunRef{ID: "queue:-1"}, connectors.RunRef{ID: "build:1"},
			connectors.RunRef{ID: "build:1", Pipeline: "a/../b"}, connectors.RunRef{ID: "101"})
		f.Throttle("GET /queue/item/:id/api/json", 7)
		_, err = alice.RunStatus(ctxT(t), run)
		connectortest.CheckRetryAfter(t, err, 7*time.Second, allSecrets...)
	})
}
