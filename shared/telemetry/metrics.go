package telemetry

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MetricsHandler serves reg in the Prometheus text format.
func MetricsHandler(reg prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// ServeMetrics serves g at /metrics on its own listener at addr, apart
// from any API port, so scrapers need no API token and API clients see no
// metrics. The same listener answers the orchestrator's probes, which must
// stay cheap (a /metrics scrape asks JetStream for every consumer's lag):
// /healthz says the process serves, /readyz is ready (nil: no /readyz).
// It returns the address listened on and the function that stops it.
func ServeMetrics(addr string, g prometheus.Gatherer, ready http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(g))
	mux.Handle("/healthz", ProbeHandler(func() bool { return true }))
	if ready != nil {
		mux.Handle("/readyz", ready)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// ProbeHandler answers 200 "ok" while ok says so and 503 "not ready"
// otherwise: a probe for a kubelet, which reads only the status.
func ProbeHandler(ok func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ok() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
