package datadog

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
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
// <aggregation>:<metric>{<scope>}[ by {<tag>,...}][.rollup(<agg>[, <s>])]
// with scope * or tag:value,...; each series is rolled up in time over
// intervals aligned to unix time (the asked interval, else the API's
// default for the time frame, and never finer than keeps a series within
// 1,500 points: a longer frame comes back coarser, as Datadog answers it),
// then aggregated across the series of each group of the by tags
// (tag_set); anything else is 400 {"errors": ["Error parsing query:
// ..."]}. Rate limits are counted per period and answered 429 with
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

var queryPattern = regexp.MustCompile(`^(avg|sum|min|max):([a-zA-Z][a-zA-Z0-9_.]*)\{([^{}]*)\}(?: by \{([a-zA-Z0-9_.,-]+)\})?(?:\.rollup\((avg|sum|min|max|count)(?:, ?(\d+))?\))?$`)

// maxPoints is the points Datadog answers per series at most (its rollup
// documentation: up to 1,500 points a series; a finer interval asked is
// replaced by a coarser one, the query is not refused).
const maxPoints = 1500

// defaultInterval is the rollup interval the API picks for a time frame
// when the query sets none: 20 s for the past hour as Datadog's rollup page
// tabulates it; past an hour these are the fake's own stand-ins, coarser
// as the frame grows (a range query of the connector always names its
// interval, so it never depends on them).
func defaultInterval(span int64) int64 {
	switch {
	case span <= 3600:
		return 20
	case span <= 4*3600:
		return 60
	case span <= 24*3600:
		return 300
	case span <= 48*3600:
		return 600
	case span <= 7*24*3600:
		return 3600
	}
	return 4 * 3600
}

// interval is the rollup interval the fake answers for [from, to] (unix
// seconds) when asked is wanted (0: none asked): never finer than keeps a
// series within maxPoints, rounded up to whole minutes past a minute.
func interval(from, to, asked int64) int64 {
	if asked <= 0 {
		asked = defaultInterval(to - from)
	}
	if (to-from)/asked+1 <= maxPoints {
		return asked
	}
	enforced := (to - from + maxPoints - 2) / (maxPoints - 1)
	if enforced > 60 {
		enforced = (enforced + 59) / 60 * 60
	}
	return max(asked, enforced)
}

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
	space, metric, scope, by, timeAgg := m[1], m[2], m[3], []string{}, m[5]
	if m[4] != "" {
		by = strings.Split(m[4], ",")
	}
	if timeAgg == "" {
		timeAgg = "avg"
	}
	asked, _ := strconv.ParseInt(m[6], 10, 64)
	step := interval(from, to, asked)
	type group struct {
		tags   []string
		values map[int64][]float64 // bucket (unix s) -> each series' rolled-up value
		unit   string
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
			g = &group{tags: tagSet, values: map[int64][]float64{}, unit: s.Unit}
			groups[key] = g
			order = append(order, key)
		}
		// Time aggregation first: the series' points in each interval,
		// intervals aligned to unix time as Datadog aligns rollups.
		inBucket := map[int64][]float64{}
		for _, p := range s.Points {
			sec := int64(p[0]) / 1000
			if sec >= from && sec <= to {
				b := sec - sec%step
				inBucket[b] = append(inBucket[b], p[1])
			}
		}
		for b, vs := range inBucket {
			g.values[b] = append(g.values[b], aggregate(timeAgg, vs))
		}
	}
	series := []map[string]any{}
	for _, key := range order {
		g := groups[key]
		var buckets []int64
		for b := range g.values {
			buckets = append(buckets, b)
		}
		if len(buckets) == 0 {
			continue
		}
		slices.Sort(buckets)
		points := [][]any{}
		for _, b := range buckets {
			// Then space aggregation across the group's series.
			points = append(points, []any{float64(b * 1000), aggregate(space, g.values[b])})
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
			"unit": unit, "aggr": space, "expression": q.Get("query"), "length": len(points),
			"start": buckets[0] * 1000, "end": buckets[len(buckets)-1] * 1000, "interval": step,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "res_type": "time_series", "series": series, "query": q.Get("query"),
		"from_date": from * 1000, "to_date": to * 1000, "message": "", "error": "",
	})
}

// aggregate is avg, sum, min, max or count of vs.
func aggregate(fn string, vs []float64) float64 {
	out := vs[0]
	switch fn {
	case "sum", "avg":
		out = 0
		for _, v := range vs {
			out += v
		}
		if fn == "avg" {
			out /= float64(len(vs))
		}
	case "min":
		out = slices.Min(vs)
	case "max":
		out = slices.Max(vs)
	case "count":
		out = float64(len(vs))
	}
	return out
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
