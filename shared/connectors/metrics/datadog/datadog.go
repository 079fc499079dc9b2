// Package datadog is the Datadog provider: health checks and metric queries
// (connectors.MetricsQuerier) over the v1 timeseries API, long ranges in
// chunks of the points Datadog answers per series. It is written on
// the kit: the official client would bring its own error types for three
// GET calls whose errors must carry the hub's codes.
//
// Credentials are one api-key secret holding the API key (apiKey) and the
// application key (appKey), sent as DD-API-KEY and DD-APPLICATION-KEY.
package datadog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/metrics/datadog/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// ProviderID is the provider's type id.
const ProviderID = spec.ProviderID

// Connector is the Datadog connector of one integration revision. It keeps
// no credential: each call resolves them.
type Connector struct {
	base          *url.URL
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
	base, err := BaseURL(cfg.String("site"), cfg.String("url"))
	if err != nil {
		return nil, err
	}
	hc, err := kit.NewClient(in)
	if err != nil {
		return nil, err
	}
	return &Connector{base: base, window: time.Duration(cfg.Int("instantWindowSeconds")) * time.Second,
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials, hc: hc, now: time.Now}, nil
}

// BaseURL is the API of a site, or raw when given.
func BaseURL(site, raw string) (*url.URL, error) {
	if raw == "" {
		raw = "https://api." + site
	}
	return kit.ParseBaseURL("url", raw)
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity sends GET /api/v1/validate without keys: Datadog's
// 403 for a request without a key proves the API answers as well as a 200
// does; a 5xx, 404 or 429 is still classified.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.hc.CallChecked(ctx, "reach datadog", kit.Request{URL: kit.Endpoint(c.base, "/api/v1/validate", nil)}, nil,
		func(resp *http.Response) error {
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				return nil
			}
			return c.hc.Check(resp)
		})
	return err
}

// CheckAuthentication validates the API key.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	keys, err := c.keys(ctx)
	if err != nil {
		return err
	}
	var out struct {
		Valid bool `json:"valid"`
	}
	if err := c.get(ctx, "/api/v1/validate", nil, keys, &out); err != nil {
		return fmt.Errorf("authenticate to datadog: %w", err)
	}
	if !out.Valid {
		return resilience.New(resilience.AuthenticationFailed, "datadog says the API key is not valid")
	}
	return nil
}

// CheckFunctionality lists the active metrics of the last hour with both
// keys.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	keys, err := c.keys(ctx)
	if err != nil {
		return err
	}
	var out struct {
		Metrics []string `json:"metrics"`
	}
	q := url.Values{"from": {strconv.FormatInt(c.now().Add(-time.Hour).Unix(), 10)}}
	if err := c.get(ctx, "/api/v1/metrics", q, keys, &out); err != nil {
		return fmt.Errorf("list datadog metrics: %w", err)
	}
	return nil
}

// keys are the two credential headers of a call.
type keys struct {
	api kit.Auth
	app string
}

// keys resolves the credential reference for one call.
func (c *Connector) keys(ctx context.Context) (keys, error) {
	const what = "the datadog keys"
	s, err := kit.Resolve(ctx, c.credentials, c.credentialRef, what)
	if err != nil {
		return keys{}, err
	}
	api, err := kit.FromSecret(s, what, decl.CredentialTypes, kit.APIKeyAs(kit.Scheme{Header: "DD-API-KEY"}))
	if err != nil {
		return keys{}, err
	}
	return keys{api: api, app: appKey(s)}, nil
}

// appKey is the application key of a secret ("" when it holds none, which
// the API answers 403 to on the calls that need one).
func appKey(s credentials.Secret) string {
	for _, k := range []string{"appKey", "applicationKey", "app_key", "application_key"} {
		if v := s[k]; v != "" {
			return v
		}
	}
	return ""
}

// get calls a GET endpoint and decodes its answer.
func (c *Connector) get(ctx context.Context, path string, q url.Values, k keys, out any) error {
	h := http.Header{}
	if k.app != "" {
		h.Set("DD-APPLICATION-KEY", k.app)
	}
	_, err := c.hc.CallChecked(ctx, "datadog "+path, kit.Request{URL: kit.Endpoint(c.base, path, q), Auth: k.api, Header: h}, out, c.check)
	return err
}

// check classifies an answer: a 400 is the caller's query (Datadog's
// {"errors": [...]}), every other status httpx's.
func (c *Connector) check(resp *http.Response) error {
	if resp.StatusCode != http.StatusBadRequest {
		return c.hc.Check(resp)
	}
	var body struct {
		Errors []string `json:"errors"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &body)
	return connectors.BadQuery("datadog refused the query: %s", truncate(strings.Join(body.Errors, "; "), 300))
}

// maxPointsPerSeries is what Datadog answers per series at most: its
// rollup documentation says a series holds up to 1,500 points, and a query
// asking finer (a .rollup() interval too small for its time frame) is
// answered at a coarser interval Datadog picks, not refused. A range
// longer than this many steps is therefore asked in chunks.
const maxPointsPerSeries = 1500

// plainQuery is one metric query without functions, arithmetic or a rollup
// of its own: <space aggregator>:<metric>{<scope>}[ by {<tags>}].
var plainQuery = regexp.MustCompile(`^[a-z0-9]+:[A-Za-z][A-Za-z0-9_.]*\{[^{}]*\}(?:\s*by\s*\{[^{}]*\})?$`)

// Query implements connectors.MetricsQuerier with GET /api/v1/query. An
// instant query asks the instantWindowSeconds before its time and keeps
// each series' latest point. A range query asks [start, end] at
// stepSeconds (whole seconds, at least 1): a plain metric query gets
// .rollup(avg, <step>) (avg is the time aggregation Datadog applies when a
// query names none, so only the interval is set); a query with functions
// or its own rollup keeps its own interval. Ranges of more than 1,500
// steps are asked in consecutive chunks of at most 1,500 points each and
// the chunks' series merged in time order. Tags become labels (host:a is
// host=a; a tag without a value is a label with an empty value), the unit
// is the series' first unit.
func (c *Connector) Query(ctx context.Context, q contracts.MetricsQuery) (contracts.MetricsResult, error) {
	if err := connectors.CheckMetricsQuery(q); err != nil {
		return contracts.MetricsResult{}, err
	}
	k, err := c.keys(ctx)
	if err != nil {
		return contracts.MetricsResult{}, err
	}
	if !q.IsRange() {
		to := c.now()
		if q.Time != nil {
			to = *q.Time
		}
		out, err := c.query(ctx, k, q.Query, to.Add(-c.window), to)
		if err != nil {
			return contracts.MetricsResult{}, err
		}
		return contracts.MetricsResult{Series: out.normalize(true)}, nil
	}
	step := time.Duration(max(1, math.Round(q.StepSeconds))) * time.Second
	text := q.Query
	if plainQuery.MatchString(strings.TrimSpace(text)) {
		text = strings.TrimSpace(text) + ".rollup(avg, " + strconv.Itoa(int(step.Seconds())) + ")"
	}
	var parts [][]contracts.MetricSeries
	for _, chunk := range connectors.SplitRange(*q.Start, *q.End, step, maxPointsPerSeries) {
		out, err := c.query(ctx, k, text, chunk.Start, chunk.End)
		if err != nil {
			return contracts.MetricsResult{}, err
		}
		parts = append(parts, out.normalize(false))
	}
	return contracts.MetricsResult{Series: connectors.MergeSeries(parts...)}, nil
}

// query asks one time frame, from and to in the API's unix seconds.
func (c *Connector) query(ctx context.Context, k keys, text string, from, to time.Time) (queryAnswer, error) {
	fromS, toS := from.Unix(), to.Unix()
	if toS <= fromS {
		// The API wants from before to: a frame of one point also asks the
		// second after it.
		toS = fromS + 1
	}
	params := url.Values{"query": {text}, "from": {strconv.FormatInt(fromS, 10)}, "to": {strconv.FormatInt(toS, 10)}}
	var out queryAnswer
	if err := c.get(ctx, "/api/v1/query", params, k, &out); err != nil {
		return queryAnswer{}, fmt.Errorf("query %s: %w", strconv.Quote(truncate(text, 120)), err)
	}
	if out.Status == "error" || out.Error != "" {
		return queryAnswer{}, connectors.BadQuery("datadog refused the query: %s", truncate(out.Error, 300))
	}
	return out, nil
}

// queryAnswer is the v1 query answer.
type queryAnswer struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Series []struct {
		TagSet    []string     `json:"tag_set"`
		Pointlist [][]*float64 `json:"pointlist"`
		Unit      []*struct {
			Name string `json:"name"`
		} `json:"unit"`
	} `json:"series"`
}

// normalize turns the answer into series; latest keeps each series' last
// point with a value.
func (a queryAnswer) normalize(latest bool) []contracts.MetricSeries {
	series := []contracts.MetricSeries{}
	for _, s := range a.Series {
		out := contracts.MetricSeries{Labels: Labels(s.TagSet), Points: []contracts.MetricPoint{}}
		if len(s.Unit) > 0 && s.Unit[0] != nil {
			out.Unit = s.Unit[0].Name
		}
		for _, p := range s.Pointlist {
			if len(p) != 2 || p[0] == nil {
				continue
			}
			pt := contracts.MetricPoint{Time: time.UnixMilli(int64(*p[0])).UTC()}
			if p[1] != nil && !math.IsNaN(*p[1]) && !math.IsInf(*p[1], 0) {
				v := *p[1]
				pt.Value = &v
			}
			out.Points = append(out.Points, pt)
		}
		sort.Slice(out.Points, func(i, j int) bool { return out.Points[i].Time.Before(out.Points[j].Time) })
		if latest {
			out.Points = connectors.KeepLatest(out.Points)
		}
		series = append(series, out)
	}
	return series
}

// Labels turns Datadog tags into labels: "host:a" is host=a, a tag
// without a colon a label with an empty value.
func Labels(tags []string) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v, _ := strings.Cut(t, ":")
		out[k] = v
	}
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
