package httpx

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stella-ops/inthub/shared/resilience"
)

// holdUntilGone blocks a handler until the client goes away, or until the
// test ends (release) so a broken client cannot hang the server's Close.
func holdUntilGone(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	// net/http notices a client closing only once the body is consumed.
	io.Copy(io.Discard, r.Body) //nolint:errcheck
	select {
	case <-r.Context().Done():
	case <-release:
	}
}

// blockingServer holds every request until the client gives up.
func blockingServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		holdUntilGone(w, r, release)
	}))
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	return srv.URL
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	blocked := blockingServer(t)
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
	}{
		{name: "client timeout", timeout: 100 * time.Millisecond,
			ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{name: "caller deadline", timeout: time.Minute,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, Options{Timeout: tc.timeout, Policy: loopbackOnly})
			ctx, cancel := tc.ctx()
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, blocked+"/slow?token=QSECRET", nil)
			_, err := c.Do(req)
			if code := codeOf(t, err); code != resilience.Timeout {
				t.Fatalf("code = %s (%v), want TIMEOUT", code, err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %v", err)
			}
			if strings.Contains(err.Error(), "QSECRET") {
				t.Errorf("error leaks the query: %v", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there any more
	c := newTestClient(t, Options{Policy: loopbackOnly})
	_, err = do(t, c, "http://"+addr+"/")
	if code := codeOf(t, err); code != resilience.ConnectionRefused {
		t.Fatalf("code = %s (%v), want CONNECTION_REFUSED", code, err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("the cause is lost: %v", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name     string
		err      error
		wantCode resilience.Code
		wantMsg  string
	}{
		{"dns not found", &net.DNSError{Err: "no such host", Name: "nope.example", IsNotFound: true}, resilience.ConnectionRefused, "host nope.example not found"},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "slow.example", IsTimeout: true}, resilience.Timeout, "timed out"},
		{"dns other", &net.DNSError{Err: "server misbehaving", Name: "x.example"}, resilience.ConnectionRefused, "DNS lookup"},
		{"refused", dial(syscall.ECONNREFUSED), resilience.ConnectionRefused, "connection refused"},
		{"no route", dial(syscall.EHOSTUNREACH), resilience.ConnectionRefused, "no route to host"},
		{"network unreachable", dial(syscall.ENETUNREACH), resilience.ConnectionRefused, "no route to host"},
		{"unknown authority", x509.UnknownAuthorityError{}, resilience.ConnectionRefused, "TLS verification failed"},
		{"hostname mismatch", x509.HostnameError{Host: "a"}, resilience.ConnectionRefused, "TLS verification failed"},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, resilience.ConnectionRefused, "TLS verification failed"},
		{"deadline", context.DeadlineExceeded, resilience.Timeout, "timed out"},
		{"os deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, resilience.Timeout, "timed out"},
		{"canceled", context.Canceled, resilience.Timeout, "canceled"},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, resilience.UpstreamError, "closed by the remote"},
		{"eof", io.EOF, resilience.UpstreamError, "closed by the remote"},
		{"other", errors.New("boom"), resilience.UpstreamError, "request failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, msg := classify(fmt.Errorf("wrapped: %w", tc.err))
			if code != tc.wantCode || !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("classify = %s %q, want %s containing %q", code, msg, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

// syncBuffer is a log sink safe for the transport's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Secrets that the tests send in every way a connector might.
const (
	headerSecret = "HdrS3cretValue"
	querySecret  = "QryS3cretValue"
	cookieSecret = "CkyS3cretValue"
)

func TestCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	var traceparents sync.Map
	release := make(chan struct{})
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traceparents.Store(r.URL.Path, r.Header.Get("Traceparent"))
		switch r.URL.Path {
		case "/echo": // a provider that quotes the request back in its error
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"message":"bad credentials","authorization":%q,"query":%q,"cookie":%q}`,
				r.Header.Get("Authorization"), r.URL.RawQuery, r.Header.Get("Cookie"))
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/creds?sig="+querySecret, http.StatusFound)
		case "/slow":
			holdUntilGone(w, r, release)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	t.Cleanup(func() { close(release) })
	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedURL := "http://" + refused.Addr().String()
	refused.Close()

	logs := &syncBuffer{}
	spans := tracetest.NewSpanRecorder()
	c := newTestClient(t, Options{
		Timeout:        time.Second,
		Policy:         loopbackOnly,
		Logger:         slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		Propagator:     propagation.TraceContext{},
	})

	tests := []struct {
		name, url string
		wantCode  resilience.Code
	}{
		{"ok", srv.URL + "/ok", ""},
		{"error status echoing the request", srv.URL + "/echo", resilience.AuthenticationFailed},
		{"blocked destination", "http://169.254.169.254/latest", resilience.DestinationBlocked},
		{"blocked redirect hop", srv.URL + "/redirect", resilience.DestinationBlocked},
		{"connection refused", refusedURL + "/x", resilience.ConnectionRefused},
		{"timeout", srv.URL + "/slow", resilience.Timeout},
		{"invalid scheme", "ftp://user:" + headerSecret + "@example.com/x", resilience.InvalidConfig},
	}
	var texts []string
	for _, tc := range tests {
		// Sequential: the span and log assertions below read all of them.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost,
			tc.url+"?access_token="+querySecret+"&page=2", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+headerSecret)
		req.Header.Set("Cookie", "session="+cookieSecret)
		resp, err := c.Do(req)
		if err == nil {
			err = CheckResponse(resp, time.Now())
			resp.Body.Close()
		}
		cancel()
		if got := resilience.CodeOf(err); got != tc.wantCode {
			t.Errorf("%s: code = %q (%v), want %q", tc.name, got, err, tc.wantCode)
		}
		if err != nil {
			texts = append(texts, tc.name+" error: "+err.Error())
		}
	}

	ended := spans.Ended()
	if len(ended) < 6 {
		t.Fatalf("recorded %d spans, want one per hop", len(ended))
	}
	for _, s := range ended {
		texts = append(texts, "span name: "+s.Name(), "span status: "+s.Status().Description)
		for _, kv := range s.Attributes() {
			texts = append(texts, fmt.Sprintf("span attribute %s=%s", kv.Key, kv.Value.String()))
		}
		for _, ev := range s.Events() {
			for _, kv := range ev.Attributes {
				texts = append(texts, fmt.Sprintf("span event %s %s=%s", ev.Name, kv.Key, kv.Value.String()))
			}
		}
	}
	texts = append(texts, "logs: "+logs.String())

	for _, text := range texts {
		forbidden := []string{headerSecret, querySecret, cookieSecret}
		if !strings.HasPrefix(text, "error status echoing") {
			// Only the provider's own body may mention the query's shape.
			forbidden = append(forbidden, "access_token", "page=2")
		}
		for _, secret := range forbidden {
			if strings.Contains(text, secret) {
				t.Errorf("%q leaks in %s", secret, text)
			}
		}
	}

	// And the instrumentation is there: spans carry what they should, the
	// trace context reached the server, the log has a line per hop.
	var sawPath, sawStatus bool
	for _, s := range ended {
		for _, kv := range s.Attributes() {
			sawPath = sawPath || (kv.Key == "url.path" && kv.Value.AsString() == "/echo")
			sawStatus = sawStatus || (kv.Key == "http.response.status_code" && kv.Value.AsInt64() == 401)
		}
		if s.Name() != "HTTP POST" && s.Name() != "HTTP GET" {
			t.Errorf("span name %q", s.Name())
		}
	}
	if !sawPath || !sawStatus {
		t.Errorf("span attributes: url.path seen %v, status 401 seen %v", sawPath, sawStatus)
	}
	if tp, _ := traceparents.Load("/echo"); !strings.HasPrefix(fmt.Sprint(tp), "00-") {
		t.Errorf("traceparent at the server = %q", tp)
	}
	if n := strings.Count(logs.String(), `"msg":"http request"`); n < 6 {
		t.Errorf("%d log lines, want one per hop:\n%s", n, logs)
	}
}

func TestHidePath(t *testing.T) {
	t.Parallel()
	const webhookSecret = "B0123/XyZsecretToken"
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no_team", http.StatusNotFound)
	}))
	spans := tracetest.NewSpanRecorder()
	c := newTestClient(t, Options{
		Policy: loopbackOnly, HidePath: true,
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	resp := get(t, c, srv.URL+"/services/T0/"+webhookSecret)
	err := CheckResponse(resp, time.Now())
	if code := codeOf(t, err); code != resilience.ResourceNotFound {
		t.Fatalf("code = %s", code)
	}
	if strings.Contains(err.Error(), "XyZsecret") || !strings.Contains(err.Error(), "/[path hidden]") {
		t.Errorf("error = %q, want the path hidden", err)
	}
	for _, s := range spans.Ended() {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.String(), "XyZsecret") {
				t.Errorf("span attribute %s leaks the path", kv.Key)
			}
		}
	}
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.UserAgent())
	}))
	tests := []struct {
		name, option, request, want string
	}{
		{"default", "", "", DefaultUserAgent},
		{"per integration", "acme-connector/2", "", "acme-connector/2"},
		{"request wins", "acme-connector/2", "sdk/1.0", "sdk/1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, Options{UserAgent: tc.option, Policy: loopbackOnly})
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			if tc.request != "" {
				req.Header.Set("User-Agent", tc.request)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := readAll(t, resp); got != tc.want {
				t.Errorf("User-Agent = %q, want %q", got, tc.want)
			}
		})
	}
}

// countingMetrics is a Metrics that remembers its observations.
type countingMetrics struct {
	mu  sync.Mutex
	got []string
}

func (m *countingMetrics) ObserveRequest(host, code string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, host+" "+code)
}

func TestMetricsObserveEveryHop(t *testing.T) {
	t.Parallel()
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/teapot", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	m := &countingMetrics{}
	c := newTestClient(t, Options{Metrics: m, Policy: loopbackOnly})
	get(t, c, srv.URL+"/moved?token=x")
	do(t, c, "http://10.9.9.9/") //nolint:errcheck // only its observation matters
	host := strings.TrimPrefix(srv.URL, "http://")
	want := []string{host + " 302", host + " 418", "10.9.9.9 DESTINATION_BLOCKED"}
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.Join(m.got, ",") != strings.Join(want, ",") {
		t.Errorf("observations = %q, want %q", m.got, want)
	}
}

// TestGlobalTracerAndPropagator is not parallel: it installs the global
// provider and propagator, which every other test overrides through Options.
func TestGlobalTracerAndPropagator(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	otel.SetTextMapPropagator(propagation.TraceContext{})

	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Traceparent"))
	}))
	c := newTestClient(t, Options{Policy: loopbackOnly})
	traceparent := readAll(t, get(t, c, srv.URL+"/v2/?n=1"))

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("recorded %d spans, want 1", len(ended))
	}
	s := ended[0]
	want := fmt.Sprintf("00-%s-%s-01", s.SpanContext().TraceID(), s.SpanContext().SpanID())
	if traceparent != want {
		t.Errorf("traceparent at the server = %q, want %q (the client span's)", traceparent, want)
	}
	if s.Name() != "HTTP GET" || s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q kind %v, want HTTP GET client", s.Name(), s.SpanKind())
	}
}
