package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	// maxQueryLength bounds an expression sent in a form body.
	maxQueryLength = 64 << 10
	// maxErrorText bounds Prometheus's error text quoted in a message.
	maxErrorText = 300
)

// Query implements connectors.MetricsQuerier with an instant query (POST
// /api/v1/query): a scalar, or a vector of exactly one sample, is its
// value. An empty vector is RESOURCE_NOT_FOUND (no data), several samples
// or another result type INVALID_CONFIG (the expression needs aggregating).
func (c *Connector) Query(ctx context.Context, expr string) (float64, error) {
	if expr == "" || len(expr) > maxQueryLength {
		return 0, resilience.New(resilience.InvalidConfig, "a query must be 1 to %d bytes long", maxQueryLength)
	}
	auth, err := c.authorization(ctx)
	if err != nil {
		return 0, err
	}
	var data queryData
	if err := c.api(ctx, http.MethodPost, "/api/v1/query", url.Values{"query": {expr}}, auth, &data); err != nil {
		return 0, fmt.Errorf("query %s: %w", quoteExpr(expr), err)
	}
	v, err := data.value()
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", quoteExpr(expr), err)
	}
	return v, nil
}

// queryData is the data of an instant query answer.
type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// value reads a scalar or a one-sample vector.
func (d queryData) value() (float64, error) {
	switch d.ResultType {
	case "scalar":
		var sample []any // [ <unix time>, "<value>" ]
		if err := json.Unmarshal(d.Result, &sample); err != nil {
			return 0, malformed(err)
		}
		return sampleValue(sample)
	case "vector":
		var series []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &series); err != nil {
			return 0, malformed(err)
		}
		switch len(series) {
		case 0:
			return 0, resilience.New(resilience.ResourceNotFound, "the result is empty (no data)")
		case 1:
			return sampleValue(series[0].Value)
		}
		return 0, resilience.New(resilience.InvalidConfig, "the result has %d series, not one: aggregate it (sum, max, ...)", len(series))
	}
	return 0, resilience.New(resilience.InvalidConfig, "the result is a %s, not a scalar or a vector", d.ResultType)
}

// sampleValue reads the "<value>" of a [time, "<value>"] pair; Prometheus
// writes values as strings so NaN and ±Inf survive JSON.
func sampleValue(sample []any) (float64, error) {
	if len(sample) != 2 {
		return 0, resilience.New(resilience.UpstreamError, "a sample is not a [time, value] pair")
	}
	s, ok := sample[1].(string)
	if !ok {
		return 0, resilience.New(resilience.UpstreamError, "a sample value is not a string")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, malformed(err)
	}
	return v, nil
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
	case "bad_data", "execution":
		// The expression itself is wrong, or fails on this data: a caller's
		// configuration problem that no retry fixes.
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
