package kit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

func newClient(t *testing.T) kit.Client {
	t.Helper()
	c, err := kit.NewClient(connectors.Instance{HTTP: connectortest.HTTP(t, nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	c.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	return c
}

func TestNewClientRefusesNoHTTPClient(t *testing.T) {
	t.Parallel()
	_, err := kit.NewClient(connectors.Instance{Integration: contracts.Integration{TypeID: "gitlab"}})
	if resilience.CodeOf(err) != resilience.InvalidConfig || !strings.Contains(err.Error(), "gitlab") {
		t.Fatalf("NewClient without a client: %v, want INVALID_CONFIG naming the provider", err)
	}
}

func TestCallClassifiesEveryStatus(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-token-value-0123456789"
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		want      resilience.Code
		wantRetry time.Duration
	}{
		{"200 decodes", 200, nil, `{"name":"ok"}`, "", 0},
		{"204 decodes nothing", 204, nil, "", "", 0},
		{"400", 400, nil, `{"message":"bad"}`, resilience.InvalidConfig, 0},
		{"401", 401, nil, "", resilience.AuthenticationFailed, 0},
		{"403", 403, nil, "", resilience.PermissionDenied, 0},
		{"403 with quota exhausted", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"}, "", resilience.RateLimited, 30 * time.Second},
		{"404", 404, nil, "", resilience.ResourceNotFound, 0},
		{"408", 408, nil, "", resilience.Timeout, 0},
		{"422", 422, nil, "", resilience.InvalidConfig, 0},
		{"429 Retry-After seconds", 429, map[string]string{"Retry-After": "7"}, "", resilience.RateLimited, 7 * time.Second},
		{"429 Retry-After date", 429, map[string]string{"Retry-After": "Fri, 02 Jan 2026 03:05:05 GMT"}, "", resilience.RateLimited, time.Minute},
		{"429 without a wait", 429, nil, "", resilience.RateLimited, 0},
		{"500", 500, nil, "", resilience.UpstreamError, 0},
		{"503 Retry-After", 503, map[string]string{"Retry-After": "3"}, "", resilience.RateLimited, 3 * time.Second},
		{"504", 504, nil, "", resilience.Timeout, 0},
		{"200 not JSON", 200, nil, "<html>", resilience.UpstreamError, 0},
		{"echoed token not quoted", 401, nil, `{"error":"bad token ` + secret + `"}`, resilience.AuthenticationFailed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+secret || r.Header.Get("Accept") != "application/json" {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			var out struct {
				Name string `json:"name"`
			}
			resp, err := newClient(t).Call(context.Background(), "read the thing", kit.Request{URL: srv.URL + "/x", Auth: kit.Bearer(secret)}, &out)
			connectortest.CheckCode(t, err, tc.want, secret)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "read the thing: ") {
					t.Fatalf("error does not name the operation: %v", err)
				}
				var coded *resilience.Error
				if resilience.CodeOf(err) == resilience.RateLimited && (!errors.As(err, &coded) || coded.RetryAfter != tc.wantRetry) {
					t.Fatalf("retry after %v, want %v", coded, tc.wantRetry)
				}
				return
			}
			if resp.StatusCode != tc.status || (tc.status == 200 && out.Name != "ok") {
				t.Fatalf("status %d, decoded %+v", resp.StatusCode, out)
			}
		})
	}
}

func TestSendBodies(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.Header.Get("Content-Type") + " " + string(b)
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name string
		req  kit.Request
		want string
	}{
		{"json", kit.Request{Method: http.MethodPost, URL: srv.URL, JSON: map[string]any{"a": 1}}, `POST application/json {"a":1}`},
		{"form", kit.Request{Method: http.MethodPost, URL: srv.URL, Form: map[string][]string{"q": {"up"}}}, "POST application/x-www-form-urlencoded q=up"},
		{"own content type", kit.Request{Method: http.MethodPost, URL: srv.URL, JSON: "x",
			Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}}, `POST application/json; charset=utf-8 "x"`},
		{"get", kit.Request{URL: srv.URL}, "GET  "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := newClient(t).Send(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			kit.Drain(resp)
			if s := <-got; s != tc.want {
				t.Fatalf("server got %q, want %q", s, tc.want)
			}
		})
	}
	_, err := newClient(t).Send(context.Background(), kit.Request{URL: srv.URL, JSON: map[string]any{"f": func() {}}})
	connectortest.CheckCode(t, err, resilience.InvalidConfig)
}

func TestReach(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	addr := srv.URL
	status, err := newClient(t).Reach(context.Background(), "reach it", addr+"/")
	if err != nil || status != http.StatusForbidden {
		t.Fatalf("Reach = %d, %v; any answer passes", status, err)
	}
	srv.Close()
	_, err = newClient(t).Reach(context.Background(), "reach it", addr+"/")
	connectortest.CheckCode(t, err, resilience.ConnectionRefused)
}

func TestDecodeJSONLimit(t *testing.T) {
	t.Parallel()
	var v map[string]string
	err := kit.DecodeJSON(strings.NewReader(`{"a":"`+strings.Repeat("x", 100)+`"}`), 50, &v)
	connectortest.CheckCode(t, err, resilience.UpstreamError)
	if err := kit.DecodeJSON(strings.NewReader(`{"a":"b"}`), 0, &v); err != nil || v["a"] != "b" {
		t.Fatalf("DecodeJSON = %v, %v", v, err)
	}
}

func TestReachAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   resilience.Code
	}{
		{http.StatusOK, ""}, {http.StatusUnauthorized, ""}, {http.StatusForbidden, resilience.PermissionDenied},
		{http.StatusNotFound, resilience.ResourceNotFound}, {http.StatusBadGateway, resilience.UpstreamError},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "" {
					w.WriteHeader(http.StatusTeapot) // the probe must not send credentials
					return
				}
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(srv.Close)
			err := newClient(t).ReachAPI(context.Background(), "reach it", kit.Request{URL: srv.URL, Auth: kit.Bearer("x")})
			connectortest.CheckCode(t, err, tc.want)
		})
	}
}
