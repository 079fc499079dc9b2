package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/stella-ops/inthub/shared/contracts"
)

// apiError is an API answer other than 2xx, in the API's one error shape.
type apiError struct {
	Status int
	Body   contracts.ErrorBody
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Body.Code, e.Body.Message)
}

// Field is the request field an error names (details.field), if any.
func (e *apiError) Field() string {
	f, _ := e.Body.Details["field"].(string)
	return f
}

// recorder is the in-process ResponseWriter of an API call: the console
// runs the ingress's own handlers, so authentication, tenancy, validation
// and the bus calls are the API's, not a second copy.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	// Bounded: no API answer the console asks for is near this.
	if r.body.Len()+len(b) > maxAPIAnswer {
		return 0, fmt.Errorf("console: API answer over %d bytes", maxAPIAnswer)
	}
	return r.body.Write(b)
}

const maxAPIAnswer = 64 << 20

// apiClient calls the API handler in-process with the session's token.
type apiClient struct {
	h     http.Handler
	token string
	ctx   context.Context
}

// do runs method path with body (JSON) and decodes a 2xx answer into out.
// headers are name/value pairs. It returns the answer's headers.
func (c apiClient) do(method, path string, query url.Values, body, out any, headers ...string) (http.Header, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("console: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(raw)
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(c.ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("console: %s %s: %w", method, path, err)
	}
	req.RemoteAddr = "console"
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := &recorder{header: http.Header{}}
	c.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status < 200 || rec.status > 299 {
		e := &apiError{Status: rec.status}
		if json.Unmarshal(rec.body.Bytes(), &e.Body) != nil || e.Body.Code == "" {
			e.Body = contracts.ErrorBody{Code: "INTERNAL", Message: http.StatusText(rec.status)}
		}
		return rec.header, e
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return rec.header, fmt.Errorf("console: decode %s %s: %w", method, path, err)
		}
	}
	return rec.header, nil
}
