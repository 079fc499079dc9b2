package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ciTarget is the CI server the pipeline runs go to: the part of GitLab's
// REST API v4 the gitlab-ci connector calls (create a pipeline, read it and
// its jobs, cancel it), in the tool's own process, so killing the
// pipeline-runner never touches it. A pipeline is pending for its first
// second, running until runFor, then ends: success in chaos/app, failed in
// chaos/broken. It counts the pipelines created per trigger (the variable
// CHAOS_REQUEST), so a trigger sent to the provider twice shows.
type ciTarget struct {
	srv    *http.Server
	url    string
	token  string
	runFor time.Duration

	mu       sync.Mutex
	runs     map[int64]*ciRun
	triggers map[string]int // pipelines created per CHAOS_REQUEST
}

type ciRun struct {
	project  string
	created  time.Time
	canceled bool
}

// The CI target's projects, as the load names them.
const (
	ciProjectOK     = "chaos/app"
	ciProjectBroken = "chaos/broken"
	// ciRequestVar is the pipeline variable carrying the request id.
	ciRequestVar = "CHAOS_REQUEST"
)

// metricsTarget answers Prometheus's instant query API
// (POST /api/v1/query) with one series: chaos_ok is 0.99, chaos_bad 0.5.
type metricsTarget struct {
	srv *http.Server
	url string

	mu      sync.Mutex
	queries int
}

// The metrics target's queries and the values they give.
var metricValues = map[string]string{"chaos_ok": "0.99", "chaos_bad": "0.5"}

// listen serves h on a free loopback port.
func listen(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, "http://" + ln.Addr().String(), nil
}

func startCITarget(token string, runFor time.Duration) (*ciTarget, error) {
	c := &ciTarget{token: token, runFor: runFor, runs: map[int64]*ciRun{}, triggers: map[string]int{}}
	srv, u, err := listen(c)
	if err != nil {
		return nil, err
	}
	c.srv, c.url = srv, u
	return c, nil
}

func (c *ciTarget) close() { _ = c.srv.Close() }

// pipelines returns how many pipelines each request created.
func (c *ciTarget) pipelines() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.triggers))
	for k, v := range c.triggers {
		out[k] = v
	}
	return out
}

// status is the run's GitLab status at now.
func (c *ciTarget) status(r *ciRun, now time.Time) string {
	switch age := now.Sub(r.created); {
	case r.canceled:
		return "canceled"
	case age < time.Second:
		return "pending"
	case age < c.runFor:
		return "running"
	case r.project == ciProjectBroken:
		return "failed"
	default:
		return "success"
	}
}

// ServeHTTP serves /api/v4/projects/<project>/pipeline[s/<id>[/jobs|/cancel]];
// the project is URL-encoded in one segment, as GitLab requires.
func (c *ciTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Private-Token") != c.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/v4/"), "/")
	if len(segs) < 3 || segs[0] != "projects" {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not Found"})
		return
	}
	project, err := url.PathUnescape(segs[1])
	if err != nil || (project != ciProjectOK && project != ciProjectBroken) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if r.Method == http.MethodPost && len(segs) == 3 && segs[2] == "pipeline" {
		var body struct {
			Ref       string `json:"ref"`
			Variables []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Ref == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "ref is missing"})
			return
		}
		id := int64(1000 + len(c.runs))
		c.runs[id] = &ciRun{project: project, created: now}
		for _, v := range body.Variables {
			if v.Key == ciRequestVar {
				c.triggers[v.Value]++
			}
		}
		writeJSON(w, http.StatusCreated, c.pipelineJSON(id, c.runs[id], now))
		return
	}
	if len(segs) < 4 || segs[2] != "pipelines" {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not Found"})
		return
	}
	id, _ := strconv.ParseInt(segs[3], 10, 64)
	run := c.runs[id]
	if run == nil || run.project != project {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
		return
	}
	switch {
	case r.Method == http.MethodGet && len(segs) == 4:
		writeJSON(w, http.StatusOK, c.pipelineJSON(id, run, now))
	case r.Method == http.MethodGet && len(segs) == 5 && segs[4] == "jobs":
		writeJSON(w, http.StatusOK, []map[string]any{{"id": id*10 + 1, "name": "deploy", "stage": "deploy", "status": c.status(run, now)}})
	case r.Method == http.MethodPost && len(segs) == 5 && segs[4] == "cancel":
		if st := c.status(run, now); st == "success" || st == "failed" {
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "403 Forbidden"})
			return
		}
		run.canceled = true
		writeJSON(w, http.StatusOK, c.pipelineJSON(id, run, now))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not Found"})
	}
}

func (c *ciTarget) pipelineJSON(id int64, r *ciRun, now time.Time) map[string]any {
	return map[string]any{"id": id, "status": c.status(r, now), "ref": "main",
		"web_url": fmt.Sprintf("%s/%s/-/pipelines/%d", c.url, r.project, id)}
}

func startMetricsTarget() (*metricsTarget, error) {
	m := &metricsTarget{}
	srv, u, err := listen(m)
	if err != nil {
		return nil, err
	}
	m.srv, m.url = srv, u
	return m, nil
}

func (m *metricsTarget) close() { _ = m.srv.Close() }

// ServeHTTP answers an instant query as Prometheus does: a vector of one
// sample, or its bad_data error for a query it does not know.
func (m *metricsTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": "error", "errorType": "not_found", "error": "not found"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "errorType": "bad_data", "error": err.Error()})
		return
	}
	q := r.Form.Get("query")
	v, ok := metricValues[q]
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "errorType": "bad_data", "error": "unknown metric " + strconv.Quote(q)})
		return
	}
	m.mu.Lock()
	m.queries++
	m.mu.Unlock()
	now := float64(time.Now().UnixMilli()) / 1000
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": "vector",
		"result": []any{map[string]any{"metric": map[string]string{"__name__": q, "job": "chaos"}, "value": []any{now, v}}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
