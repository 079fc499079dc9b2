package dynatrace

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// fakeSeries is one stored series: a metric key, its dimensions and its
// points ([ms, value]) on whole minutes.
type fakeSeries struct {
	Metric     string
	Dimensions map[string]string
	Points     [][2]float64
}

// fake is the Dynatrace Metrics API v2 as its reference describes it, for
// the calls the connector makes: GET /api/v2/metrics and GET
// /api/v2/metrics/query, each with "Authorization: Api-Token <token>"
// (401 without or with a wrong token, 403 for a token without
// metrics.read). A query takes metricSelector, from and to (ms), and
// resolution (<n>m); selectors are <key>[:filter(eq("dim","value"))]
// [:splitBy("dim",...)] (no splitBy: by every dimension; splitBy(): one
// series), averaged per resolution bucket; anything else is 400 with the
// API's error body and constraintViolations. Answers hold pageSize series
// a page and a nextPageKey, which must then be the only parameter. A rate
// limit answers 429 with Retry-After, X-RateLimit-Limit and
// X-RateLimit-Reset (microseconds since the epoch).
type fake struct {
	token    string
	noScope  bool // the token lacks metrics.read
	series   []fakeSeries
	pageSize int // series a page (default 100)
	// prefix is the environment's path: "" for SaaS
	// (https://<env-id>.live.dynatrace.com/api/v2/...), /e/<env-id> for
	// Managed (https://<domain>/e/<env-id>/api/v2/...); any other path
	// is 404.
	prefix string
	// noRetryAfter leaves Retry-After out of a 429, so the delay is only
	// X-RateLimit-Reset's.
	noRetryAfter bool

	mu      sync.Mutex
	limited bool
	limit   int
	calls   int
	pages   int // query pages served
}

func startFake(t *testing.T, f *fake) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

var selectorPattern = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9_.:-]*?)(?::filter\(eq\("([^"]+)","([^"]*)"\)\))?(?::splitBy\(((?:"[^"]+",?)*)\))?$`)

func apiError(w http.ResponseWriter, status int, msg string, violations ...string) {
	body := map[string]any{"code": status, "message": msg}
	if len(violations) > 0 {
		var cv []map[string]any
		for _, v := range violations {
			cv = append(cv, map[string]any{"message": v, "parameterLocation": "QUERY", "path": "metricSelector"})
		}
		body["constraintViolations"] = cv
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	over := f.limited || (f.limit > 0 && f.calls > f.limit)
	f.mu.Unlock()
	path, inEnv := strings.CutPrefix(r.URL.Path, f.prefix)
	if !inEnv || !strings.HasPrefix(path, "/api/") {
		apiError(w, http.StatusNotFound, "Not found")
		return
	}
	if over {
		if !f.noRetryAfter {
			w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
		}
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(connectortest.RetryAfterSeconds*time.Second).UnixMicro(), 10))
		apiError(w, http.StatusTooManyRequests, "Rate limit exceeded")
		return
	}
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		apiError(w, http.StatusUnauthorized, "Missing authorization parameter.")
		return
	case auth != "Api-Token "+f.token:
		apiError(w, http.StatusUnauthorized, "Token Authentication failed")
		return
	case f.noScope:
		apiError(w, http.StatusForbidden, "Token is missing required scope. Use one of: metrics.read (Read metrics)")
		return
	}
	switch path {
	case "/api/v2/metrics":
		var ids []map[string]any
		for _, s := range f.series {
			ids = append(ids, map[string]any{"metricId": s.Metric})
		}
		writeJSON(w, http.StatusOK, map[string]any{"totalCount": len(ids), "nextPageKey": nil, "metrics": ids})
	case "/api/v2/metrics/query":
		f.query(w, r)
	default:
		apiError(w, http.StatusNotFound, "Not found")
	}
}

// pageState is what a nextPageKey encodes.
type pageState struct {
	Selector, Resolution string
	From, To             int64
	Offset               int
}

func (f *fake) query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var st pageState
	if key := q.Get("nextPageKey"); key != "" {
		if len(q) != 1 {
			apiError(w, http.StatusBadRequest, "Constraints violated.", "nextPageKey must be the only query parameter")
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(key)
		if err != nil || json.Unmarshal(raw, &st) != nil {
			apiError(w, http.StatusBadRequest, "Invalid nextPageKey")
			return
		}
	} else {
		from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
		to, err2 := strconv.ParseInt(q.Get("to"), 10, 64)
		if err1 != nil || err2 != nil || from >= to {
			apiError(w, http.StatusBadRequest, "Constraints violated.", "from and to are epoch milliseconds, from before to")
			return
		}
		st = pageState{Selector: q.Get("metricSelector"), Resolution: q.Get("resolution"), From: from, To: to}
	}
	m := selectorPattern.FindStringSubmatch(st.Selector)
	res, err := time.ParseDuration(st.Resolution)
	if m == nil || err != nil || res < time.Minute || res%time.Minute != 0 {
		apiError(w, http.StatusBadRequest, "Constraints violated.", "The metric selector could not be parsed: "+st.Selector)
		return
	}
	key, filterDim, filterVal := m[1], m[2], m[3]
	split, all := []string{}, m[4] == "" && !strings.Contains(st.Selector, ":splitBy(")
	for _, d := range strings.Split(m[4], ",") {
		if d = strings.Trim(d, `"`); d != "" {
			split = append(split, d)
		}
	}
	type group struct {
		dims  map[string]string
		sums  map[int64]float64
		count map[int64]int
	}
	groups := map[string]*group{}
	var order []string
	for _, s := range f.series {
		if s.Metric != key || (filterDim != "" && s.Dimensions[filterDim] != filterVal) {
			continue
		}
		dims := map[string]string{}
		for k, v := range s.Dimensions {
			if all || slices.Contains(split, k) {
				dims[k] = v
			}
		}
		b, _ := json.Marshal(dims)
		g := groups[string(b)]
		if g == nil {
			g = &group{dims: dims, sums: map[int64]float64{}, count: map[int64]int{}}
			groups[string(b)] = g
			order = append(order, string(b))
		}
		for _, p := range s.Points {
			ts := int64(p[0])
			if ts < st.From || ts > st.To {
				continue
			}
			bucket := ts - ts%res.Milliseconds()
			g.sums[bucket] += p[1]
			g.count[bucket]++
		}
	}
	var data []map[string]any
	for _, k := range order {
		g := groups[k]
		var stamps []int64
		for ts := range g.sums {
			stamps = append(stamps, ts)
		}
		if len(stamps) == 0 {
			continue
		}
		sort.Slice(stamps, func(i, j int) bool { return stamps[i] < stamps[j] })
		values := make([]any, len(stamps))
		for i, ts := range stamps {
			values[i] = g.sums[ts] / float64(g.count[ts])
		}
		dimList := []string{}
		for _, v := range g.dims {
			dimList = append(dimList, v)
		}
		data = append(data, map[string]any{"dimensions": dimList, "dimensionMap": g.dims, "timestamps": stamps, "values": values})
	}
	size := f.pageSize
	if size <= 0 {
		size = 100
	}
	end := min(st.Offset+size, len(data))
	page := data[min(st.Offset, len(data)):end]
	var next any
	if end < len(data) {
		st.Offset = end
		raw, _ := json.Marshal(st)
		next = base64.RawURLEncoding.EncodeToString(raw)
	}
	f.mu.Lock()
	f.pages++
	f.mu.Unlock()
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"totalCount": len(data), "nextPageKey": next, "resolution": st.Resolution,
		"result": []map[string]any{{"metricId": st.Selector, "dataPointCountRatio": 0.0001, "dimensionCountRatio": 0.001, "data": page}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
