package prometheus

import (
	"bytes"
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
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// maxErrorText bounds Prometheus's error text quoted in a message.
const maxErrorText = 300

// Query implements connectors.MetricsQuerier: an instant query (POST
// /api/v1/query) or a range query (POST /api/v1/query_range), each answer
// normalized to series. A scalar is one series without labels; an empty
// vector or matrix is an empty result (no data). Prometheus gives no units.
func (c *Connector) Query(ctx context.Context, q contracts.MetricsQuery) (contracts.MetricsResult, error) {
	if err := connectors.CheckMetricsQuery(q); err != nil {
		return contracts.MetricsResult{}, err
	}
	auth, err := c.authorization(ctx)
	if err != nil {
		return contracts.MetricsResult{}, err
	}
	path, form := "/api/v1/query", url.Values{"query": {q.Query}}
	switch {
	case q.IsRange():
		path = "/api/v1/query_range"
		form.Set("start", promTime(*q.Start))
		form.Set("end", promTime(*q.End))
		form.Set("step", strconv.FormatFloat(q.StepSeconds, 'f', -1, 64))
	case q.Time != nil:
		form.Set("time", promTime(*q.Time))
	}
	var data queryData
	if err := c.api(ctx, http.MethodPost, path, form, auth, &data); err != nil {
		return contracts.MetricsResult{}, fmt.Errorf("query %s: %w", quoteExpr(q.Query), err)
	}
	res, err := data.normalize()
	if err != nil {
		return contracts.MetricsResult{}, fmt.Errorf("query %s: %w", quoteExpr(q.Query), err)
	}
	return res, nil
}

// promTime writes t as the API's unix seconds with a fraction.
func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// queryData is the data of a query answer.
type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// normalize turns a scalar, vector or matrix into series.
func (d queryData) normalize() (contracts.MetricsResult, error) {
	res := contracts.MetricsResult{Series: []contracts.MetricSeries{}}
	switch d.ResultType {
	case "scalar":
		var sample []any // [ <unix time>, "<value>" ]
		if err := json.Unmarshal(d.Result, &sample); err != nil {
			return res, malformed(err)
		}
		p, err := point(sample)
		if err != nil {
			return res, err
		}
		res.Series = append(res.Series, contracts.MetricSeries{Labels: map[string]string{}, Points: []contracts.MetricPoint{p}})
	case "vector", "matrix":
		var series []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(d.Result, &series); err != nil {
			return res, malformed(err)
		}
		for _, s := range series {
			samples := s.Values
			if d.ResultType == "vector" {
				samples = [][]any{s.Value}
			}
			out := contracts.MetricSeries{Labels: s.Metric, Points: make([]contracts.MetricPoint, 0, len(samples))}
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			for _, sample := range samples {
				p, err := point(sample)
				if err != nil {
					return res, err
				}
				out.Points = append(out.Points, p)
			}
			res.Series = append(res.Series, out)
		}
	default:
		return res, connectors.BadQuery("the result is a %s, not a number: a canary query must give a scalar, a vector or a matrix", d.ResultType)
	}
	return res, nil
}

// point reads a [<unix time>, "<value>"] pair; Prometheus writes values as
// strings so NaN and ±Inf survive JSON, and those become a point without
// a value.
func point(sample []any) (contracts.MetricPoint, error) {
	if len(sample) != 2 {
		return contracts.MetricPoint{}, resilience.New(resilience.UpstreamError, "a sample is not a [time, value] pair")
	}
	ts, ok := sample[0].(float64)
	s, isString := sample[1].(string)
	if !ok || !isString {
		return contracts.MetricPoint{}, resilience.New(resilience.UpstreamError, "a sample is not a [number, string] pair")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return contracts.MetricPoint{}, malformed(err)
	}
	sec, frac := math.Modf(ts)
	p := contracts.MetricPoint{Time: time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC()}
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		p.Value = &v
	}
	return p, nil
}

func malformed(err error) error {
	return resilience.Wrap(resilience.UpstreamError, err, "the answer is not Prometheus's JSON")
}

// apiAnswer is the envelope of every /api/v1 answer.
type apiAnswer struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// api calls an /api/v1 endpoint and decodes its data into out. An error
// answer gets the code of its errorType; statuses without one (401 from
// basic auth, 429 from a proxy) get httpx's.
func (c *Connector) api(ctx context.Context, method, path string, form url.Values, auth kit.Auth, out any) error {
	resp, err := c.hc.Send(ctx, kit.Request{Method: method, URL: kit.Endpoint(c.base, path, nil), Form: form, Auth: auth})
	if err != nil {
		return err
	}
	defer kit.Drain(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, kit.DefaultMaxBody))
	if err != nil {
		return resilience.Wrap(resilience.UpstreamError, err, "read the answer")
	}
	// CheckResponse quotes the start of the body: give it back.
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var answer apiAnswer
	decodeErr := json.Unmarshal(body, &answer)
	switch {
	case decodeErr == nil && answer.Status == "error" && answer.ErrorType != "" && !authOrLimit(resp.StatusCode):
		return apiError(resp.StatusCode, answer)
	case resp.StatusCode >= 400:
		return c.hc.Check(resp)
	case decodeErr != nil:
		return malformed(decodeErr)
	case answer.Status != "success":
		return resilience.New(resilience.UpstreamError, "the answer's status is %q, not success", answer.Status)
	}
	if err := json.Unmarshal(answer.Data, out); err != nil {
		return malformed(err)
	}
	return nil
}

// authOrLimit reports statuses whose code httpx decides whatever the body.
func authOrLimit(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests
}

// apiError maps Prometheus's errorType (web/api/v1: bad_data, execution,
// timeout, canceled, internal, unavailable, not_found) to a code.
func apiError(status int, a apiAnswer) error {
	code := resilience.UpstreamError
	switch a.ErrorType {
	case "bad_data":
		// The expression itself is wrong: the caller's, and no retry fixes it.
		return connectors.BadQuery("prometheus answered HTTP %d %s: %s", status, a.ErrorType, truncate(a.Error, maxErrorText))
	case "execution":
		// The expression fails on this data (many-to-many matching, too
		// many samples): a configuration problem that no retry fixes.
		code = resilience.InvalidConfig
	case "timeout", "canceled":
		code = resilience.Timeout
	case "not_found":
		code = resilience.ResourceNotFound
	}
	return resilience.New(code, "prometheus answered HTTP %d %s: %s", status, a.ErrorType, truncate(a.Error, maxErrorText))
}

// quoteExpr names a query in a message without making it a wall of text.
func quoteExpr(expr string) string { return strconv.Quote(truncate(expr, 120)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
