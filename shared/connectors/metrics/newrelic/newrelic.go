// Package newrelic is the New Relic provider: health checks and NRQL
// queries (connectors.MetricsQuerier) over NerdGraph, New Relic's GraphQL
// API. It is written on the kit: newrelic-client-go would bring its own
// HTTP stack and error types for one GraphQL call whose errors must carry
// the hub's codes.
package newrelic

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/metrics/newrelic/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// ProviderID is the provider's type id.
const ProviderID = spec.ProviderID

// Connector is the New Relic connector of one integration revision.
type Connector struct {
	endpoint      string
	account       int
	window        time.Duration
	credentialRef string
	credentials   connectors.CredentialSource
	hc            kit.Client
	now           func() time.Time
}

var (
	_ connectors.Checker        = (*Connector)(nil)
	_ connectors.MetricsQuerier = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	base, err := BaseURL(cfg.String("region"), cfg.String("url"))
	if err != nil {
		return nil, err
	}
	hc, err := kit.NewClient(in)
	if err != nil {
		return nil, err
	}
	return &Connector{endpoint: kit.Endpoint(base, "/graphql", nil), account: cfg.Int("accountId"),
		window:        time.Duration(cfg.Int("instantWindowSeconds")) * time.Second,
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials, hc: hc, now: time.Now}, nil
}

// BaseURL is NerdGraph's host of a region, or raw when given.
func BaseURL(region, raw string) (*url.URL, error) {
	if raw == "" {
		raw = spec.Regions[region]
	}
	return kit.ParseBaseURL("url", raw)
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity posts a query without a key: the API's 401 passes.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach new relic", kit.Request{Method: "POST", URL: c.endpoint, JSON: map[string]any{"query": "{ actor { user { id } } }"}})
}

// CheckAuthentication reads the key's user.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	var out struct {
		Actor struct {
			User struct {
				ID int `json:"id"`
			} `json:"user"`
		} `json:"actor"`
	}
	if err := c.graphql(ctx, "{ actor { user { id } } }", nil, &out); err != nil {
		return fmt.Errorf("authenticate to new relic: %w", err)
	}
	return nil
}

// CheckFunctionality counts the account's metrics of the last 5 minutes.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	_, err := c.nrql(ctx, "SELECT count(*) FROM Metric SINCE 5 minutes ago")
	return err
}

const nrqlQuery = `query($account: Int!, $nrql: Nrql!) { actor { account(id: $account) { nrql(query: $nrql, timeout: 30) { results metadata { facets } } } } }`

// nrqlAnswer is what nrql returns.
type nrqlAnswer struct {
	Results  []map[string]any `json:"results"`
	Metadata struct {
		Facets []string `json:"facets"`
	} `json:"metadata"`
}

func (c *Connector) nrql(ctx context.Context, text string) (nrqlAnswer, error) {
	var out struct {
		Actor struct {
			Account struct {
				NRQL *nrqlAnswer `json:"nrql"`
			} `json:"account"`
		} `json:"actor"`
	}
	if err := c.graphql(ctx, nrqlQuery, map[string]any{"account": c.account, "nrql": text}, &out); err != nil {
		return nrqlAnswer{}, err
	}
	if out.Actor.Account.NRQL == nil {
		return nrqlAnswer{}, resilience.New(resilience.UpstreamError, "nerdgraph answered no nrql result")
	}
	return *out.Actor.Account.NRQL, nil
}

// graphql posts one GraphQL request. NerdGraph answers a refused NRQL with
// HTTP 200 and errors: those are bad queries, an error about the account
// PERMISSION_DENIED; statuses are httpx's.
func (c *Connector) graphql(ctx context.Context, query string, vars map[string]any, data any) error {
	auth, err := kit.Credential(ctx, c.credentials, c.credentialRef, "the new relic key", decl.CredentialTypes,
		kit.APIKeyAs(kit.Scheme{Header: "API-Key"}))
	if err != nil {
		return err
	}
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				ErrorClass string `json:"errorClass"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	if _, err := c.hc.Call(ctx, "nerdgraph", kit.Request{Method: "POST", URL: c.endpoint, JSON: body, Auth: auth}, &answer); err != nil {
		return err
	}
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		msg := truncate(e.Message, 300)
		switch {
		case e.Extensions.ErrorClass == "TOO_MANY_REQUESTS":
			return resilience.New(resilience.RateLimited, "new relic: %s", msg)
		case strings.Contains(strings.ToLower(e.Message), "not authorized") || e.Extensions.ErrorClass == "FORBIDDEN":
			return resilience.New(resilience.PermissionDenied, "new relic: %s", msg)
		}
		return connectors.BadQuery("new relic refused the query: %s", msg)
	}
	if len(answer.Data) == 0 || string(answer.Data) == "null" {
		return resilience.New(resilience.UpstreamError, "nerdgraph answered no data")
	}
	if err := json.Unmarshal(answer.Data, data); err != nil {
		return resilience.Wrap(resilience.UpstreamError, err, "the answer is not NerdGraph's JSON")
	}
	return nil
}

var (
	sincePattern      = regexp.MustCompile(`(?i)\b(since|until)\b`)
	timeseriesPattern = regexp.MustCompile(`(?i)\btimeseries\b`)
)

// maxBuckets is the most TIMESERIES buckets one NRQL query may ask: New
// Relic's NRQL reference caps a TIMESERIES answer at 366 buckets, and a
// query asking more is refused, so a longer range is asked in chunks.
const maxBuckets = 366

// Query implements connectors.MetricsQuerier with an NRQL query. The
// query's window is the caller's: SINCE and UNTIL (epoch milliseconds) are
// added, and TIMESERIES by the step (an instant query: by the minute, its
// answer each series' latest minute), unless the text has its own. A range
// of more than 366 steps whose window and buckets the connector adds is
// asked in consecutive chunks of at most 366 buckets and the chunks'
// series merged in time order. Facets become labels; each numeric column
// of a row is a value (a second column is told apart by label column).
// NRQL gives no units.
func (c *Connector) Query(ctx context.Context, q contracts.MetricsQuery) (contracts.MetricsResult, error) {
	if err := connectors.CheckMetricsQuery(q); err != nil {
		return contracts.MetricsResult{}, err
	}
	to := c.now()
	if q.Time != nil {
		to = *q.Time
	}
	from, step := to.Add(-c.window), time.Minute
	if q.IsRange() {
		from, to = *q.Start, *q.End
		step = time.Duration(max(1, int(math.Round(q.StepSeconds)))) * time.Second
	}
	ownWindow, ownBuckets := sincePattern.MatchString(q.Query), timeseriesPattern.MatchString(q.Query)
	chunks := []connectors.RangeChunk{{Start: from, End: to}}
	if q.IsRange() && !ownWindow && !ownBuckets {
		chunks = connectors.SplitRange(from, to, step, maxBuckets)
	}
	var parts [][]contracts.MetricSeries
	for _, chunk := range chunks {
		text := q.Query
		if !ownWindow {
			// UNTIL is exclusive: one millisecond more keeps a point at the end.
			text += fmt.Sprintf(" SINCE %d UNTIL %d", chunk.Start.UnixMilli(), chunk.End.UnixMilli()+1)
		}
		if !ownBuckets {
			text += fmt.Sprintf(" TIMESERIES %d seconds", int(step.Seconds()))
		}
		ans, err := c.nrql(ctx, text)
		if err != nil {
			return contracts.MetricsResult{}, fmt.Errorf("nrql %s: %w", strconv.Quote(truncate(q.Query, 120)), err)
		}
		parts = append(parts, normalize(ans, !q.IsRange()).Series)
	}
	return contracts.MetricsResult{Series: connectors.MergeSeries(parts...)}, nil
}

// normalize turns NRQL rows into series: one per facet value and column.
func normalize(a nrqlAnswer, latest bool) contracts.MetricsResult {
	skip := map[string]bool{"beginTimeSeconds": true, "endTimeSeconds": true, "facet": true, "timestamp": true}
	for _, f := range a.Metadata.Facets {
		skip[f] = true
	}
	byKey := map[string]*contracts.MetricSeries{}
	var order []string
	for _, row := range a.Results {
		labels := map[string]string{}
		for _, f := range a.Metadata.Facets {
			if v, ok := row[f]; ok {
				labels[f] = fmt.Sprint(v)
			}
		}
		if len(a.Metadata.Facets) == 1 && len(labels) == 0 {
			if v, ok := row["facet"]; ok {
				labels[a.Metadata.Facets[0]] = fmt.Sprint(v)
			}
		}
		var columns []string
		for k, v := range row {
			if _, isNumber := v.(float64); isNumber && !skip[k] || v == nil && !skip[k] {
				columns = append(columns, k)
			}
		}
		sort.Strings(columns)
		at := time.Time{}
		if b, ok := row["beginTimeSeconds"].(float64); ok {
			at = time.Unix(int64(b), 0).UTC()
		}
		for _, col := range columns {
			l := labels
			if len(columns) > 1 {
				l = map[string]string{"column": col}
				for k, v := range labels {
					l[k] = v
				}
			}
			key := fmt.Sprint(sortedPairs(l))
			s := byKey[key]
			if s == nil {
				s = &contracts.MetricSeries{Labels: l, Points: []contracts.MetricPoint{}}
				byKey[key] = s
				order = append(order, key)
			}
			pt := contracts.MetricPoint{Time: at}
			if v, ok := row[col].(float64); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				pt.Value = &v
			}
			s.Points = append(s.Points, pt)
		}
	}
	res := contracts.MetricsResult{Series: []contracts.MetricSeries{}}
	for _, k := range order {
		s := byKey[k]
		sort.SliceStable(s.Points, func(i, j int) bool { return s.Points[i].Time.Before(s.Points[j].Time) })
		if latest {
			s.Points = connectors.KeepLatest(s.Points)
		}
		res.Series = append(res.Series, *s)
	}
	return res
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
