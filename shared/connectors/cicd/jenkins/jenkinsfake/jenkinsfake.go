// Package jenkinsfake is a fake Jenkins (its remote access API) for the
// tests of the jenkins connector and for the pipeline flow test of the
// devstack (through cicdtest.Server).
package jenkinsfake

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/connectortest/fakehttp"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Jenkins is a Jenkins controller's remote access API as jenkins.io
// documents it (doc/book/using/remote-access-api, system-administration/
// authenticating-scripted-clients, security/csrf-protection) and its source
// answers (jenkins.security.BasicHeaderProcessor, the CSRF CrumbFilter):
//
//   - every answer carries X-Jenkins;
//   - Basic credentials are checked on every request: a wrong password or
//     token is 401 "Invalid password/token for user: NAME" with
//     WWW-Authenticate: Basic realm="Jenkins"; a header without ':' is 401
//     "Malformed HTTP basic Authorization header"; no (or a non-Basic)
//     header is anonymous;
//   - no negotiation: a caller without Overall/Read gets 403 with
//     X-You-Are-Authenticated-As and X-Required-Permission;
//   - the tree parameter selects fields, nested with [...]: children of a
//     folder appear only when the tree asks for them; _class always;
//   - CSRF: POSTs authenticated by password or anonymous need the crumb
//     (Jenkins-Crumb header) of the web session whose JSESSIONID cookie
//     they send, else 403 "No valid crumb was included in the request";
//     API token requests are exempt; /crumbIssuer/api/json is 404 when CSRF
//     protection is off;
//   - /build on a parameterized job without a form is 400 "Nothing is
//     submitted"; builds answer 201 with Location …/queue/item/N/.
//   - /queue/item/N/api/json is a Queue$WaitingItem, then a Queue$LeftItem
//     whose executable names the build (number, url), or with cancelled
//     true; an item the queue does not know is 404. POST
//     /queue/cancelItem?id=N cancels a waiting item (204; 404 otherwise);
//     /job/…/N/api/json has building and result (null while building);
//     POST /job/…/N/stop aborts it and redirects (302) to its page. Both
//     POSTs need Job/Cancel and the crumb as builds do.
//
// A reverse proxy in front of it may answer 429 with Retry-After (Jenkins
// itself has no rate limit). It counts calls per route.
type Jenkins struct {
	srv *httptest.Server

	mu       sync.Mutex
	users    map[string]fakeUser
	anonRead bool
	csrf     bool
	root     []*Item
	sessions map[string]string // JSESSIONID -> crumb
	queued   []*queuedBuild
	verdict  string // result builds end with; SUCCESS when unset
	// Routes counts calls by route and scripts the proxy's 429s
	// (Throttle, ThrottleAll, Count).
	fakehttp.Routes
}

type fakeUser struct {
	password, apiToken string
	read, build        bool
}

// Item is a job or a folder of the fake's tree.
type Item struct {
	class, name, color string
	params             []string
	children           []*Item // a container when non-nil
	verdict            string  // result its builds end with; the fake's when unset
}

// Job is a buildable job of class (ClassFreestyle, ClassWorkflowJob) named
// name, taking the parameters params.
func Job(class, name string, params ...string) *Item {
	return &Item{class: class, name: name, color: "blue", params: params}
}

// queuedBuild is a queue item and, once it left the queue, its build.
// Each read of a waiting item or a building build moves it one step: the
// item is given its build on the second read, the build ends with the
// fake's verdict on its second read.
type queuedBuild struct {
	job    string // full name
	params url.Values

	id, reads  int
	cancelled  bool
	number     int // the build, 0 while queued
	buildReads int
	building   bool
	result     string
	verdict    string // its job's, when the job has one
}

// Build is one accepted build request: the job's full name and the
// parameters the job took.
type Build struct {
	Job    string
	Params url.Values
}

// The item classes of the fake's tree.
const (
	ClassFolder              = "com.cloudbees.hudson.plugins.folder.Folder"
	ClassFreestyle           = "hudson.model.FreeStyleProject"
	ClassWorkflowJob         = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
	ClassWorkflowMultiBranch = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
)

// The fake's users.
const (
	AliceToken    = "11a6e0c9f2d84b1c9e5f7a3b2c1d0e9f8a"
	AlicePassword = "alice-correct-horse"
	BobToken      = "11bb0c9f2d84b1c9e5f7a3b2c1d0e9f8bb"
)

// New starts a fake Jenkins with the users alice (read and build, an API
// token and a password), bob (read, a token) and carol (neither), CSRF
// protection on and an empty tree; the test's end closes it.
func New(t *testing.T) *Jenkins {
	t.Helper()
	f := &Jenkins{
		users: map[string]fakeUser{
			"alice": {password: AlicePassword, apiToken: AliceToken, read: true, build: true},
			"bob":   {apiToken: BobToken, read: true},
			"carol": {apiToken: "11cc0c9f2d84b1c9e5f7a3b2c1d0e9f8cc"},
		},
		csrf: true, sessions: map[string]string{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// Folder is a folder holding children.
func Folder(name string, children ...*Item) *Item {
	return &Item{class: ClassFolder, name: name, children: append([]*Item{}, children...)}
}

// AddStandardTree adds 250 buildable jobs: app-000…app-099 at the root
// (app-099 disabled), team-a/svc-00…59 Pipelines (svc-00 takes TARGET,
// svc-01 TARGET and BRANCH), 40 freestyle jobs four folders deep under
// team-b, and the multibranch Pipeline mono with 50 branch jobs; plus an
// empty folder.
func (f *Jenkins) AddStandardTree() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range 100 {
		it := &Item{class: ClassFreestyle, name: fmt.Sprintf("app-%03d", i), color: "blue"}
		if i == 99 {
			it.color = "disabled"
		}
		f.root = append(f.root, it)
	}
	teamA := Folder("team-a")
	for i := range 60 {
		it := &Item{class: ClassWorkflowJob, name: fmt.Sprintf("svc-%02d", i), color: "red"}
		switch i {
		case 0:
			it.params = []string{"TARGET"}
		case 1:
			it.params = []string{"TARGET", "BRANCH"}
		}
		teamA.children = append(teamA.children, it)
	}
	deepest := Folder("deepest")
	for i := range 40 {
		deepest.children = append(deepest.children, &Item{class: ClassFreestyle, name: fmt.Sprintf("job-%02d", i), color: "notbuilt"})
	}
	mono := &Item{class: ClassWorkflowMultiBranch, name: "mono", children: []*Item{}}
	mono.children = append(mono.children, &Item{class: ClassWorkflowJob, name: "main", color: "blue"})
	for i := range 49 {
		mono.children = append(mono.children, &Item{class: ClassWorkflowJob, name: fmt.Sprintf("feature%%2Fx-%02d", i), color: "blue"})
	}
	f.root = append(f.root, teamA, Folder("team-b", Folder("nested", Folder("deeper", deepest))), mono, Folder("empty"))
}

// URL is the fake's base URL (the connector's url setting).
func (f *Jenkins) URL() string { return f.srv.URL }

// AddRoot adds items at the root of the tree.
func (f *Jenkins) AddRoot(items ...*Item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.root = append(f.root, items...)
}

// SetVerdict sets the result builds end with ("SUCCESS", "FAILURE",
// "UNSTABLE"), unless their job has its own.
func (f *Jenkins) SetVerdict(result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verdict = result
}

// SetAnonymousRead lets anonymous callers read (Overall/Read for Anonymous).
func (f *Jenkins) SetAnonymousRead(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.anonRead = on
}

// SetCSRF turns CSRF protection (crumbs for password callers) on or off.
func (f *Jenkins) SetCSRF(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.csrf = on
}

// Builds returns the build requests accepted so far, in order.
func (f *Jenkins) Builds() []Build {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Build, len(f.queued))
	for i, q := range f.queued {
		out[i] = Build{Job: q.job, Params: q.params}
	}
	return out
}

// routeOf names a numbered route by pattern: /queue/item/:id/api/json,
// /:n/api/json (a build of a job), /:n/stop; num is the number.
func routeOf(action string) (string, int) {
	segs := strings.Split(strings.Trim(action, "/"), "/")
	for i, seg := range segs {
		if n, err := strconv.Atoi(seg); err == nil && n > 0 {
			segs[i] = ":n"
			if i > 0 && segs[i-1] == "item" {
				segs[i] = ":id"
			}
			return "/" + strings.Join(segs, "/"), n
		}
	}
	return action, 0
}

func (f *Jenkins) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("X-Jenkins", "2.479.1")
	w.Header().Set("X-Jenkins-Session", "7f3a2b1c")
	item, fullName, action, ok := f.resolve(r.URL.EscapedPath())
	action, num := routeOf(action)
	route := r.Method + " " + action
	if fullName != "" {
		route = r.Method + " /job/*" + action
	}
	if retryAfter, throttled := f.Call(route); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		htmlError(w, http.StatusTooManyRequests, "429 Too Many Requests")
		return
	}
	user, viaToken, authOK := f.authenticate(w, r)
	if !authOK {
		return
	}
	if !f.mayRead(user) {
		f.forbidden(w, user, "hudson.model.Hudson.Read", fmt.Sprintf("%s is missing the Overall/Read permission", orAnonymous(user)))
		return
	}
	if !ok {
		htmlError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch route {
	case "GET /api/json":
		f.renderJSON(w, r, map[string]any{"_class": "hudson.model.Hudson", "mode": "NORMAL", "nodeDescription": "the built-in node",
			"jobs": f.itemsJSON(f.root, "")}, "jobs[name,url,color]")
	case "GET /job/*/api/json":
		f.renderJSON(w, r, f.itemJSON(item, fullName), "")
	case "GET /me/api/json":
		f.renderJSON(w, r, map[string]any{"_class": "hudson.model.User", "id": orAnonymous(user), "fullName": orAnonymous(user)}, "")
	case "GET /crumbIssuer/api/json":
		if !f.csrf {
			htmlError(w, http.StatusNotFound, "Not Found")
			return
		}
		session := fmt.Sprintf("node0%d", len(f.sessions)+1)
		f.sessions[session] = fmt.Sprintf("crumb%x", len(f.sessions)*7919+1)
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID.7f3a2b1c", Value: session, Path: "/", HttpOnly: true})
		f.renderJSON(w, r, map[string]any{"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": f.sessions[session], "crumbRequestField": "Jenkins-Crumb"}, "")
	case "POST /job/*/build", "POST /job/*/buildWithParameters":
		f.build(w, r, user, viaToken, item, fullName, action)
	case "GET /queue/item/:id/api/json":
		f.queueItem(w, r, num)
	case "POST /queue/cancelItem":
		f.cancelItem(w, r, user, viaToken)
	case "GET /job/*/:n/api/json":
		f.readBuild(w, r, fullName, num)
	case "GET /job/*/:n":
		if f.findBuild(fullName, num) == nil {
			htmlError(w, http.StatusNotFound, "Not Found")
			return
		}
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		fmt.Fprintf(w, "<html><body>#%d</body></html>\n", num)
	case "POST /job/*/:n/stop":
		f.stop(w, r, user, viaToken, fullName, num)
	default:
		htmlError(w, http.StatusNotFound, "Not Found")
	}
}

// resolve walks /job/a/job/b/<action>: the item, its full name and the
// action ("/api/json", "/build"…); ok false when a job does not exist.
func (f *Jenkins) resolve(escaped string) (*Item, string, string, bool) {
	segs := strings.Split(strings.Trim(escaped, "/"), "/")
	var item *Item
	var names []string
	items := f.root
	for len(segs) >= 2 && segs[0] == "job" {
		name, err := url.PathUnescape(segs[1])
		if err != nil {
			return nil, "x", "/", false
		}
		i := slices.IndexFunc(items, func(it *Item) bool { return it.name == name })
		names = append(names, name)
		if i < 0 {
			return nil, strings.Join(names, "/"), "/" + strings.Join(segs[2:], "/"), false
		}
		item, items, segs = items[i], items[i].children, segs[2:]
	}
	return item, strings.Join(names, "/"), "/" + strings.Join(segs, "/"), true
}

// authenticate applies BasicHeaderProcessor; false when it answered 401.
func (f *Jenkins) authenticate(w http.ResponseWriter, r *http.Request) (string, bool, bool) {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Basic ") {
		return "", false, true
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	name, secret, ok := strings.Cut(string(raw), ":")
	w.Header().Set("WWW-Authenticate", `Basic realm="Jenkins"`)
	if !ok {
		htmlError(w, http.StatusUnauthorized, "Malformed HTTP basic Authorization header")
		return "", false, false
	}
	u, known := f.users[name]
	switch {
	case known && secret == u.apiToken:
		w.Header().Del("WWW-Authenticate")
		return name, true, true
	case known && u.password != "" && secret == u.password:
		w.Header().Del("WWW-Authenticate")
		return name, false, true
	}
	htmlError(w, http.StatusUnauthorized, "Invalid password/token for user: "+name)
	return "", false, false
}

func (f *Jenkins) mayRead(user string) bool {
	if user == "" {
		return f.anonRead
	}
	return f.users[user].read
}

func orAnonymous(user string) string {
	if user == "" {
		return "anonymous"
	}
	return user
}

func (f *Jenkins) forbidden(w http.ResponseWriter, user, permission, message string) {
	h := w.Header()
	h.Set("X-You-Are-Authenticated-As", orAnonymous(user))
	h.Set("X-You-Are-In-Group-Disabled", "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose")
	h.Set("X-Required-Permission", permission)
	h.Add("X-Permission-Implied-By", "hudson.model.Hudson.Administer")
	if user == "" {
		message = "Authentication required"
	}
	htmlError(w, http.StatusForbidden, message)
}

func (f *Jenkins) build(w http.ResponseWriter, r *http.Request, user string, viaToken bool, item *Item, fullName, action string) {
	if !f.mayPost(w, r, user, viaToken, "hudson.model.Item.Build", "Job/Build") {
		return
	}
	if item.children != nil || item.color == "disabled" {
		htmlError(w, http.StatusNotFound, "Not Found")
		return
	}
	if err := r.ParseForm(); err != nil {
		htmlError(w, http.StatusBadRequest, "Bad form")
		return
	}
	switch {
	case action == "/build" && len(item.params) > 0 && r.PostForm.Get("json") == "":
		htmlError(w, http.StatusBadRequest, "Nothing is submitted")
		return
	case action == "/buildWithParameters" && len(item.params) == 0:
		htmlError(w, http.StatusInternalServerError, "java.lang.IllegalStateException: This build is not parameterized!")
		return
	}
	params := url.Values{}
	for k, v := range r.Form {
		if slices.Contains(item.params, k) {
			params[k] = v
		}
	}
	q := &queuedBuild{job: fullName, params: params, id: 101 + len(f.queued), verdict: item.verdict}
	f.queued = append(f.queued, q)
	w.Header().Set("Location", fmt.Sprintf("%s/queue/item/%d/", f.srv.URL, q.id))
	w.WriteHeader(http.StatusCreated)
}

// mayPost checks a POST's permission (the fake's build users hold Job/Build
// and Job/Cancel) and CSRF crumb; false when it answered.
func (f *Jenkins) mayPost(w http.ResponseWriter, r *http.Request, user string, viaToken bool, permission, name string) bool {
	if user == "" || !f.users[user].build {
		f.forbidden(w, user, permission, orAnonymous(user)+" is missing the "+name+" permission")
		return false
	}
	if f.csrf && !viaToken {
		ck, err := r.Cookie("JSESSIONID.7f3a2b1c")
		if err != nil || f.sessions[ck.Value] == "" || r.Header.Get("Jenkins-Crumb") != f.sessions[ck.Value] {
			htmlError(w, http.StatusForbidden, "No valid crumb was included in the request")
			return false
		}
	}
	return true
}

func (f *Jenkins) findItem(id int) *queuedBuild {
	for _, q := range f.queued {
		if q.id == id {
			return q
		}
	}
	return nil
}

func (f *Jenkins) findBuild(job string, number int) *queuedBuild {
	for _, q := range f.queued {
		if q.job == job && q.number == number && number > 0 {
			return q
		}
	}
	return nil
}

func (f *Jenkins) jobURL(job string) string {
	var p strings.Builder
	for _, seg := range strings.Split(job, "/") {
		p.WriteString("/job/" + url.PathEscape(seg))
	}
	return f.srv.URL + p.String() + "/"
}

// queueItem answers /queue/item/N/api/json: a WaitingItem until its build
// starts (second read), then a LeftItem naming it in executable; a
// cancelled item is a LeftItem with cancelled true and no executable.
func (f *Jenkins) queueItem(w http.ResponseWriter, r *http.Request, id int) {
	q := f.findItem(id)
	if q == nil {
		htmlError(w, http.StatusNotFound, "Not Found")
		return
	}
	if !q.cancelled && q.number == 0 {
		if q.reads++; q.reads >= 2 {
			for _, o := range f.queued {
				if o.job == q.job && o.number >= q.number {
					q.number = o.number + 1
				}
			}
			q.building = true
		}
	}
	m := map[string]any{"_class": "hudson.model.Queue$WaitingItem", "id": q.id, "cancelled": false, "blocked": false, "buildable": false,
		"why": "In the quiet period.", "executable": nil, "task": map[string]any{"name": q.job, "url": f.jobURL(q.job)}}
	switch {
	case q.cancelled:
		m["_class"], m["cancelled"], m["why"] = "hudson.model.Queue$LeftItem", true, nil
	case q.number > 0:
		m["_class"], m["why"] = "hudson.model.Queue$LeftItem", nil
		m["executable"] = map[string]any{"_class": "hudson.model.FreeStyleBuild", "number": q.number, "url": fmt.Sprintf("%s%d/", f.jobURL(q.job), q.number)}
	}
	f.renderJSON(w, r, m, "")
}

// cancelItem answers POST /queue/cancelItem?id=N: 204 for a waiting item,
// 404 for one the queue does not hold (unknown, or already left).
func (f *Jenkins) cancelItem(w http.ResponseWriter, r *http.Request, user string, viaToken bool) {
	if !f.mayPost(w, r, user, viaToken, "hudson.model.Item.Cancel", "Job/Cancel") {
		return
	}
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	q := f.findItem(id)
	if q == nil || q.cancelled || q.number > 0 {
		htmlError(w, http.StatusNotFound, "Provided queue item id does not exist")
		return
	}
	q.cancelled = true
	w.WriteHeader(http.StatusNoContent)
}

// readBuild answers /job/…/N/api/json: building until its second read,
// then done with the fake's verdict.
func (f *Jenkins) readBuild(w http.ResponseWriter, r *http.Request, job string, number int) {
	q := f.findBuild(job, number)
	if q == nil {
		htmlError(w, http.StatusNotFound, "Not Found")
		return
	}
	if q.building {
		if q.buildReads++; q.buildReads >= 2 {
			q.building, q.result = false, cmp.Or(q.verdict, f.verdict, "SUCCESS")
		}
	}
	var result any
	if q.result != "" {
		result = q.result
	}
	f.renderJSON(w, r, map[string]any{"_class": "hudson.model.FreeStyleBuild", "number": q.number, "building": q.building,
		"inProgress": q.building, "result": result, "url": fmt.Sprintf("%s%d/", f.jobURL(q.job), q.number)}, "")
}

// stop answers POST /job/…/N/stop: the build is aborted and Jenkins
// redirects to its page (302), a finished build included.
func (f *Jenkins) stop(w http.ResponseWriter, r *http.Request, user string, viaToken bool, job string, number int) {
	if !f.mayPost(w, r, user, viaToken, "hudson.model.Item.Cancel", "Job/Cancel") {
		return
	}
	q := f.findBuild(job, number)
	if q == nil {
		htmlError(w, http.StatusNotFound, "Not Found")
		return
	}
	if q.building {
		q.building, q.result = false, "ABORTED"
	}
	http.Redirect(w, r, fmt.Sprintf("%s%d/", f.jobURL(q.job), q.number), http.StatusFound)
}

func (f *Jenkins) itemsJSON(items []*Item, parent string) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		full := it.name
		if parent != "" {
			full = parent + "/" + it.name
		}
		out = append(out, f.itemJSON(it, full))
	}
	return out
}

// itemJSON is an item with every property the fake knows.
func (f *Jenkins) itemJSON(it *Item, fullName string) map[string]any {
	var p strings.Builder
	for _, seg := range strings.Split(fullName, "/") {
		p.WriteString("/job/" + url.PathEscape(seg))
	}
	m := map[string]any{"_class": it.class, "name": it.name, "fullName": fullName, "url": f.srv.URL + p.String() + "/"}
	if it.children != nil {
		m["jobs"] = f.itemsJSON(it.children, fullName)
		return m
	}
	m["color"], m["buildable"] = it.color, it.color != "disabled"
	props := []any{}
	if len(it.params) > 0 {
		defs := []any{}
		for _, name := range it.params {
			defs = append(defs, map[string]any{"_class": "hudson.model.StringParameterDefinition", "name": name, "defaultParameterValue": map[string]any{"value": ""}})
		}
		props = append(props, map[string]any{"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": defs})
	}
	m["property"] = props
	return m
}

// renderJSON writes v filtered by the request's tree (def when it has
// none; "" = everything). A malformed tree is 400.
func (f *Jenkins) renderJSON(w http.ResponseWriter, r *http.Request, v map[string]any, def string) {
	spec := r.URL.Query().Get("tree")
	if spec == "" {
		spec = def
	}
	out := any(v)
	if spec != "" {
		nodes, err := parseTree(spec)
		if err != nil {
			htmlError(w, http.StatusBadRequest, err.Error())
			return
		}
		out = applyTree(v, nodes)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(out)
}

// treeNode is one field of a tree parameter; sub is nil for a leaf.
type treeNode struct {
	name string
	sub  []treeNode
}

// parseTree reads `a,b[c,d[e]]`. Range suffixes ({M,N}) are not needed by
// the connector and are refused.
func parseTree(s string) ([]treeNode, error) {
	nodes, rest, err := parseTreeList(s)
	if err == nil && rest != "" {
		err = fmt.Errorf("unexpected %q in tree", rest)
	}
	return nodes, err
}

func parseTreeList(s string) ([]treeNode, string, error) {
	var nodes []treeNode
	for {
		i := strings.IndexAny(s, ",[]{}")
		if i < 0 {
			i = len(s)
		}
		n := treeNode{name: strings.TrimSpace(s[:i])}
		if n.name == "" {
			return nil, s, fmt.Errorf("empty field in tree")
		}
		s = s[i:]
		if strings.HasPrefix(s, "[") {
			sub, rest, err := parseTreeList(s[1:])
			if err != nil {
				return nil, rest, err
			}
			if !strings.HasPrefix(rest, "]") {
				return nil, rest, fmt.Errorf("unclosed [ in tree")
			}
			n.sub, s = sub, rest[1:]
		}
		nodes = append(nodes, n)
		if !strings.HasPrefix(s, ",") {
			return nodes, s, nil
		}
		s = s[1:]
	}
}

// applyTree keeps the fields nodes select (and _class) of objects, through
// arrays.
func applyTree(v any, nodes []treeNode) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = applyTree(e, nodes)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		if c, ok := x["_class"]; ok {
			out["_class"] = c
		}
		for _, n := range nodes {
			val, ok := x[n.name]
			switch {
			case !ok:
			case n.sub != nil:
				out[n.name] = applyTree(val, n.sub)
			default:
				out[n.name] = applyTree(val, nil)
			}
		}
		return out
	}
	return v
}

func htmlError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><head><title>Error %d %s</title></head><body><h2>HTTP ERROR %d %s</h2></body></html>\n",
		status, message, status, message)
}

// The flow test's jobs: Pipelines in the folder flow taking the parameters
// the test sends (cicdtest.Parameters); builds of the second fail.
const (
	releaseJob = "flow/release"
	brokenJob  = "flow/broken"
)

// Start is the fake as the pipeline flow test takes it (cicdtest.Server):
// the jobs flow/release (builds succeed) and flow/broken (builds fail); a
// build request waits in the queue for one read, then builds for one read,
// then ends with its result.
func Start(t *testing.T) cicdtest.Server {
	t.Helper()
	f := New(t)
	var params []string
	for k := range cicdtest.Parameters() {
		params = append(params, k)
	}
	slices.Sort(params)
	broken := Job(ClassWorkflowJob, "broken", params...)
	broken.verdict = "FAILURE"
	f.AddRoot(Folder("flow", Job(ClassWorkflowJob, "release", params...), broken))
	return flow{f}
}

// flow is Jenkins as a cicdtest.Server.
type flow struct{ f *Jenkins }

// URL is the fake's base URL.
func (s flow) URL() string { return s.f.URL() }

// Integration is a jenkins integration as alice with her API token.
func (s flow) Integration(string) (map[string]any, string) {
	return map[string]any{"url": s.f.URL()}, `{"username":"alice","password":"` + AliceToken + `"}`
}

// Pipeline names the flow job whose builds end with verdict.
func (s flow) Pipeline(verdict contracts.PipelineRunStatus) string {
	if verdict == contracts.RunFailed {
		return brokenJob
	}
	return releaseJob
}

// Ref is empty: a ref would name a branch job of a multibranch Pipeline.
func (s flow) Ref() string { return "" }

// Started counts the build requests of job pipeline and returns the
// parameters of the last one.
func (s flow) Started(pipeline string) (int, map[string]string) {
	n, params := 0, map[string]string(nil)
	for _, b := range s.f.Builds() {
		if b.Job == pipeline {
			n, params = n+1, map[string]string{}
			for k := range b.Params {
				params[k] = b.Params.Get(k)
			}
		}
	}
	return n, params
}

// ParseTree says whether the fake reads a tree parameter (the connector's
// tree must be one Jenkins, and so the fake, can parse).
func ParseTree(spec string) error {
	_, err := parseTree(spec)
	return err
}
