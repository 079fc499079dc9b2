package newrelic

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/connectortest"
)

// fakeSeries is one stored series: a metric, its attributes and its points
// ([ms, value]).
type fakeSeries struct {
	Metric     string
	Attributes map[string]string
	Points     [][2]float64
}

// fake is NerdGraph (POST /graphql) as New Relic's NerdGraph and NRQL
// references describe it, for the requests the connector sends: a User API
// key in the API-Key header (401 without a valid one), { actor { user { id
// } } }, and the account's nrql field with the query in the $nrql
// variable, answered as results and metadata.facets. NRQL is
// SELECT average|sum|min|max(<metric>) FROM Metric [WHERE <attr> = '<v>']
// [FACET <attr>] SINCE <ms> UNTIL <ms> TIMESERIES <n> seconds (UNTIL
// exclusive; rows per bucket with beginTimeSeconds and endTimeSeconds,
// null where a bucket has no data; more than 366 buckets, a step longer
// than the window or a window ending before it starts are refused with the
// messages New Relic's chart troubleshooting page lists), and SELECT count(*) FROM Metric SINCE 5
// minutes ago. Anything else is HTTP 200 with a GraphQL error ("NRQL
// Syntax Error"), another account an error saying it is not authorized.
// Rate limits: more requests in flight than maxConcurrent are 429 without
// a header, as NerdGraph documents its concurrency limit; limited answers
// every request 429 with Retry-After (a limit that says when to come back).
type fake struct {
	key     string
	account int
	series  []fakeSeries

	// maxConcurrent is NerdGraph's limit of requests in flight per user
	// (25 in its usage-limits page; 0: none): one more is answered 429,
	// which the page documents without any header. hold, when set, keeps
	// every NRQL request in flight until it is closed.
	maxConcurrent int
	hold          chan struct{}

	mu       sync.Mutex
	limited  bool
	inFlight int
	nrqls    []string
}

func startFake(t *testing.T, f *fake) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

var (
	nrqlPattern  = regexp.MustCompile(`^SELECT (average|sum|min|max)\(([a-zA-Z][a-zA-Z0-9_.]*)\) FROM Metric(?: WHERE ([a-zA-Z_][a-zA-Z0-9_.]*) = '([^']*)')?(?: FACET ([a-zA-Z_][a-zA-Z0-9_.]*))? SINCE (\d+) UNTIL (\d+) TIMESERIES (\d+) seconds$`)
	countPattern = regexp.MustCompile(`^SELECT count\(\*\) FROM Metric SINCE 5 minutes ago$`)
)

func gqlError(w http.ResponseWriter, msg, class string) {
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"account": map[string]any{"nrql": nil}}},
		"errors": []map[string]any{{"message": msg, "path": []string{"actor", "account", "nrql"}, "extensions": map[string]any{"errorClass": class}}}})
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	limited := f.limited
	f.mu.Unlock()
	if limited {
		w.Header().Set("Retry-After", strconv.Itoa(connectortest.RetryAfterSeconds))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []map[string]any{{"message": "Too many requests"}}})
		return
	}
	if r.URL.Path != "/graphql" || r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []map[string]any{{"message": "Not found"}}})
		return
	}
	if r.Header.Get("API-Key") != f.key {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]any{{"message": "Unauthorized: invalid or missing API key"}}})
		return
	}
	f.mu.Lock()
	f.inFlight++
	over := f.maxConcurrent > 0 && f.inFlight > f.maxConcurrent
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if over {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": []map[string]any{{"message": "Too many concurrent requests"}}})
		return
	}
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]any{{"message": "Invalid GraphQL request"}}})
		return
	}
	switch {
	case strings.Contains(req.Query, "actor { user { id } }"):
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"user": map[string]any{"id": 1001}}}})
	case strings.Contains(req.Query, "nrql(query: $nrql"):
		account, _ := req.Variables["account"].(float64)
		text, _ := req.Variables["nrql"].(string)
		if int(account) != f.account {
			gqlError(w, "Account "+strconv.Itoa(int(account))+" is not authorized for this user", "FORBIDDEN")
			return
		}
		f.mu.Lock()
		f.nrqls = append(f.nrqls, text)
		f.mu.Unlock()
		if f.hold != nil {
			select {
			case <-f.hold:
			case <-r.Context().Done():
				return
			}
		}
		f.nrql(w, text)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]any{{"message": "Cannot query field on type"}}})
	}
}

func (f *fake) nrql(w http.ResponseWriter, text string) {
	answer := func(results []map[string]any, facets []string) {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"actor": map[string]any{"account": map[string]any{
			"nrql": map[string]any{"results": results, "metadata": map[string]any{"facets": facets}}}}}})
	}
	if countPattern.MatchString(text) {
		answer([]map[string]any{{"count": len(f.series)}}, nil)
		return
	}
	m := nrqlPattern.FindStringSubmatch(text)
	if m == nil {
		gqlError(w, "NRQL Syntax Error: Error at line 1 position 1, unexpected input in "+strconv.Quote(text), "INVALID_INPUT")
		return
	}
	fn, metric, whereAttr, whereVal, facet := m[1], m[2], m[3], m[4], m[5]
	since, _ := strconv.ParseInt(m[6], 10, 64)
	until, _ := strconv.ParseInt(m[7], 10, 64)
	stepSec, _ := strconv.ParseInt(m[8], 10, 64)
	step := stepSec * 1000
	switch {
	case until <= since:
		gqlError(w, "Your query's start time must be before its end time.", "INVALID_INPUT")
		return
	case step <= 0 || step > until-since:
		gqlError(w, "TIMESERIES step size is larger than the current time window.", "INVALID_INPUT")
		return
	case (until-since+step-1)/step > maxBuckets:
		gqlError(w, "TIMESERIES supports a maximum of 366 buckets.", "INVALID_INPUT")
		return
	}
	type acc struct{ sum, min, max, n float64 }
	groups := map[string]map[int64]*acc{}
	var order []string
	for _, s := range f.series {
		if s.Metric != metric || (whereAttr != "" && s.Attributes[whereAttr] != whereVal) {
			continue
		}
		key := ""
		if facet != "" {
			key = s.Attributes[facet]
		}
		if groups[key] == nil {
			groups[key] = map[int64]*acc{}
			order = append(order, key)
		}
		for _, p := range s.Points {
			ts := int64(p[0])
			if ts < since || ts >= until {
				continue
			}
			b := since + (ts-since)/step*step
			a := groups[key][b]
			if a == nil {
				a = &acc{min: math.Inf(1), max: math.Inf(-1)}
				groups[key][b] = a
			}
			a.sum += p[1]
			a.n++
			a.min, a.max = math.Min(a.min, p[1]), math.Max(a.max, p[1])
		}
	}
	column := fn + "." + metric
	results := []map[string]any{}
	for _, key := range order {
		for b := since; b < until; b += step {
			row := map[string]any{"beginTimeSeconds": b / 1000, "endTimeSeconds": (b + step) / 1000}
			if facet != "" {
				row["facet"], row[facet] = key, key
			}
			var v any
			if a := groups[key][b]; a != nil {
				switch fn {
				case "average":
					v = a.sum / a.n
				case "sum":
					v = a.sum
				case "min":
					v = a.min
				case "max":
					v = a.max
				}
			}
			row[column] = v
			results = append(results, row)
		}
	}
	var facets []string
	if facet != "" {
		facets = []string{facet}
	}
	answer(results, facets)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
