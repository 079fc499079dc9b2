package datadog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// fakeSeries is one stored series of the fake: a metric, its tags, its
// points ([ms, value]) and its unit.
type fakeSeries struct {
	Metric string
	Tags   []string
	Points [][2]float64
	Unit   string
}

// fake is Datadog's v1 API as its reference describes it, for the calls the
// connector makes: GET /api/v1/validate (DD-API-KEY only; {"valid": true},
// 403 {"errors": ["Forbidden"]}), GET /api/v1/metrics?from= and GET
// /api/v1/query?from=&to=&query= (both keys; from and to unix seconds,
// from before to). Queries are the metric query syntax
// <aggregation>:<metric>{<scope>}[ by {<tag>,...}] with scope * or
// tag:value,...; a series is grouped by the by tags (tag_set), averaged per
// timestamp otherwise; anything else is 400 {"errors": ["Error parsing
// query: ..."]}. Rate limits are counted per period and answered 429 with
// X-RateLimit-Limit, -Period, -Remaining and -Reset.
type fake struct {
	apiKey, appKey string
	series         []fakeSeries
	// limit requests per period (0: none).
	limit, period int

	mu       sync.Mutex
	requests int
	limited  bool
	queries  []string // raw query strings received by /api/v1/query
}

func startFake(t *testing.T, f *fake) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

var queryPattern = regexp.MustCompile(`^(avg|sum|min|max):([a-zA-Z][a-zA-Z0-9_.]*)\{([^{}]*)\}(?: by \{([a-zA-Z0-9_.,-]+)\})?$`)

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	over := f.limited || (f.limit > 0 && f.requests > f.limit)
	remaining := max(f.limit-f.requests, 0)
	if r.URL.Path == "/api/v1/query" {
		f.queries = append(f.queries, r.URL.RawQuery)
	}
	f.mu.Unlock()
	if f.limit > 0 || f.limited {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		w.Header().Set("X-RateLimit-Period", strconv.Itoa(f.period))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.Itoa(connectortest.RetryAfterSeconds))
	}
	if over {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []string{"Rate limit of " + strconv.Itoa(f.limit) + " requests in " + strconv.Itoa(f.period) + " seconds reached. Please try again later."}})
		return
	}
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"errors": []string{"Method Not Allowed"}})
		return
	}
	apiOK := r.Header.Get("DD-API-KEY") == f.apiKey
	bothOK := apiOK && r.Header.Get("DD-APPLICATION-KEY") == f.appKey
	switch r.URL.Path {
	case "/api/v1/validate":
		if !apiOK {
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Forbidden"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"valid": true})
	case "/api/v1/metrics":
		if !bothOK {
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Forbidden"}})
			return
		}
		if _, err := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"Missing or invalid parameter 'from'"}})
			return
		}
		var names []string
		for _, s := range f.series {
			if !slices.Contains(names, s.Metric) {
				names = append(names, s.Metric)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"metrics": names, "from": r.URL.Query().Get("from")})
	case "/api/v1/query":
		if !bothOK {
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Forbidden"}})
			return
		}
		f.query(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"Not found"}})
	}
}

func (f *fake) query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseInt(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil || from >= to {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{"Invalid time range: from and to are unix seconds, from before to"}})
		return
	}
	m := queryPattern.FindStringSubmatch(q.Get("query"))
	if m == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []string{fmt.Sprintf("Error parsing query: unable to parse %s", q.Get("query"))}})
		return
	}
	metric, scope, by := m[2], m[3], []string{}
	if m[4] != "" {
		by = strings.Split(m[4], ",")
	}
	type group struct {
		tags  []string
		sums  map[float64]float64
		count map[float64]int
		unit  string
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range f.series {
		if s.Metric != metric || !inScope(s.Tags, scope) {
			continue
		}
		var tagSet []string
		for _, b := range by {
			for _, tag := range s.Tags {
				if strings.HasPrefix(tag, b+":") {
					tagSet = append(tagSet, tag)
				}
			}
		}
		key := strings.Join(tagSet, ",")
		g := groups[key]
		if g == nil {
			g = &group{tags: tagSet, sums: map[float64]float64{}, count: map[float64]int{}, unit: s.Unit}
			groups[key] = g
			order = append(order, key)
		}
		for _, p := range s.Points {
			if p[0] >= float64(from*1000) && p[0] <= float64(to*1000) {
				g.sums[p[0]] += p[1]
				g.count[p[0]]++
			}
		}
	}
	series := []map[string]any{}
	for _, key := range order {
		g := groups[key]
		var times []float64
		for ts := range g.sums {
			times = append(times, ts)
		}
		if len(times) == 0 {
			continue
		}
		sort.Float64s(times)
		points := [][]any{}
		for _, ts := range times {
			v := g.sums[ts]
			if m[1] == "avg" {
				v /= float64(g.count[ts])
			}
			points = append(points, []any{ts, v})
		}
		var unit []any
		if g.unit != "" {
			unit = []any{map[string]any{"family": "percentage", "name": g.unit, "short_name": "%"}, nil}
		}
		tagSet := g.tags
		if tagSet == nil {
			tagSet = []string{}
		}
		series = append(series, map[string]any{
			"metric": metric, "display_name": metric, "scope": scope, "tag_set": tagSet, "pointlist": points,
			"unit": unit, "aggr": m[1], "expression": q.Get("query"), "length": len(points),
			"start": times[0], "end": times[len(times)-1], "interval": 20,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "res_type": "time_series", "series": series, "query": q.Get("query"),
		"from_date": from * 1000, "to_date": to * 1000, "message": "", "error": "",
	})
}

// inScope says whether tags match a scope: * or tag:value,... all present.
func inScope(tags []string, scope string) bool {
	if scope == "*" {
		return true
	}
	for _, want := range strings.Split(scope, ",") {
		if !slices.Contains(tags, strings.TrimSpace(want)) {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
