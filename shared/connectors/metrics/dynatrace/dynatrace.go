// Package dynatrace is the Dynatrace provider: health checks and metric
// selector queries (connectors.MetricsQuerier) over the Metrics API v2,
// written on the kit (Dynatrace publishes no Go client of that API).
package dynatrace

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/metrics/dynatrace/spec"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

var decl = spec.Spec

// Spec is the declaration with its factory.
var Spec = decl.WithFactory(New)

// ProviderID is the provider's type id.
const ProviderID = spec.ProviderID

// maxPages bounds the pages of one query's answer.
const maxPages = 100

// Connector is the Dynatrace connector of one integration revision.
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
	base, err := kit.ParseBaseURL("url", cfg.String("url"))
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

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity sends GET /api/v2/metrics without a token.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	return c.hc.ReachAPI(ctx, "reach dynatrace", kit.Request{URL: kit.Endpoint(c.base, "/api/v2/metrics", url.Values{"pageSize": {"1"}})})
}

// CheckAuthentication lists one metric with the token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	auth, err := c.authorization(ctx)
	if err != nil {
		return err
	}
	var out struct {
		TotalCount int `json:"totalCount"`
	}
	if err := c.get(ctx, "/api/v2/metrics", url.Values{"pageSize": {"1"}}, auth, &out); err != nil {
		return fmt.Errorf("authenticate to dynatrace: %w", err)
	}
	return nil
}

// CheckFunctionality queries a built-in metric over the last 5 minutes.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	now := c.now()
	from := now.Add(-5 * time.Minute)
	_, err := c.Query(ctx, contracts.MetricsQuery{Query: "builtin:host.cpu.usage", Start: &from, End: &now, StepSeconds: 60})
	return err
}

func (c *Connector) authorization(ctx context.Context) (kit.Auth, error) {
	return kit.Credential(ctx, c.credentials, c.credentialRef, "the dynatrace token", decl.CredentialTypes,
		kit.TokenAs(kit.Scheme{Header: "Authorization", Prefix: "Api-Token "}))
}

func (c *Connector) get(ctx context.Context, path string, q url.Values, auth kit.Auth, out any) error {
	_, err := c.hc.CallChecked(ctx, "dynatrace "+path, kit.Request{URL: kit.Endpoint(c.base, path, q), Auth: auth}, out, c.check)
	return err
}

// check classifies an answer: a 400 is the caller's selector (Dynatrace's
// {"error": {"code", "message", "constraintViolations"}}), every other
// status httpx's (429 with Retry-After or X-RateLimit-Reset in
// microseconds).
func (c *Connector) check(resp *http.Response) error {
	if resp.StatusCode != http.StatusBadRequest {
		return c.hc.Check(resp)
	}
	var body struct {
		Error struct {
			Message              string `json:"message"`
			ConstraintViolations []struct {
				Message string `json:"message"`
			} `json:"constraintViolations"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(b, &body)
	msg := body.Error.Message
	for _, v := range body.Error.ConstraintViolations {
		msg += "; " + v.Message
	}
	return connectors.BadQuery("dynatrace refused the metric selector: %s", truncate(msg, 300))
}

// Query implements connectors.MetricsQuerier with GET
// /api/v2/metrics/query, following nextPageKey to the last page. A range
// query asks [start, end] at resolution stepSeconds (whole minutes, at
// least 1m: the API's finest); an instant query asks the
// instantWindowSeconds before its time and keeps each series' latest point.
// dimensionMap becomes the labels; the answer carries no unit.
func (c *Connector) Query(ctx context.Context, q contracts.MetricsQuery) (contracts.MetricsResult, error) {
	if err := connectors.CheckMetricsQuery(q); err != nil {
		return contracts.MetricsResult{}, err
	}
	auth, err := c.authorization(ctx)
	if err != nil {
		return contracts.MetricsResult{}, err
	}
	to := c.now()
	if q.Time != nil {
		to = *q.Time
	}
	from := to.Add(-c.window)
	resolution := "1m"
	if q.IsRange() {
		from, to = *q.Start, *q.End
		resolution = strconv.Itoa(max(1, int(math.Round(q.StepSeconds/60)))) + "m"
	}
	params := url.Values{
		"metricSelector": {q.Query}, "resolution": {resolution},
		"from": {strconv.FormatInt(from.UnixMilli(), 10)}, "to": {strconv.FormatInt(to.UnixMilli(), 10)},
	}
	res := contracts.MetricsResult{Series: []contracts.MetricSeries{}}
	for range maxPages {
		var page queryPage
		if err := c.get(ctx, "/api/v2/metrics/query", params, auth, &page); err != nil {
			return contracts.MetricsResult{}, fmt.Errorf("query %s: %w", strconv.Quote(truncate(q.Query, 120)), err)
		}
		page.appendTo(&res, !q.IsRange())
		if page.NextPageKey == "" {
			return res, nil
		}
		// A next page is asked with its key alone, as the API requires.
		params = url.Values{"nextPageKey": {page.NextPageKey}}
	}
	return contracts.MetricsResult{}, resilience.New(resilience.UpstreamError, "the answer has more than %d pages", maxPages)
}

// queryPage is one page of a metrics query answer.
type queryPage struct {
	NextPageKey string `json:"nextPageKey"`
	Result      []struct {
		MetricID string `json:"metricId"`
		Data     []struct {
			DimensionMap map[string]string `json:"dimensionMap"`
			Timestamps   []int64           `json:"timestamps"`
			Values       []*float64        `json:"values"`
		} `json:"data"`
	} `json:"result"`
}

// appendTo adds the page's series to res; latest keeps each series' last
// point with a value.
func (p queryPage) appendTo(res *contracts.MetricsResult, latest bool) {
	for _, r := range p.Result {
		for _, d := range r.Data {
			s := contracts.MetricSeries{Labels: d.DimensionMap, Points: []contracts.MetricPoint{}}
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			for i, ts := range d.Timestamps {
				pt := contracts.MetricPoint{Time: time.UnixMilli(ts).UTC()}
				if i < len(d.Values) && d.Values[i] != nil && !math.IsNaN(*d.Values[i]) && !math.IsInf(*d.Values[i], 0) {
					v := *d.Values[i]
					pt.Value = &v
				}
				s.Points = append(s.Points, pt)
			}
			if latest {
				s.Points = connectors.KeepLatest(s.Points)
			}
			res.Series = append(res.Series, s)
		}
	}
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
