package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPrometheusMetrics(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)

	reg := prometheus.NewPedanticRegistry()
	m, err := NewPrometheusMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewPrometheusMetrics(reg) // a second Client's metrics, same registry
	if err != nil {
		t.Fatalf("second registration: %v", err)
	}
	c := newTestClient(t, Options{Metrics: again, Policy: GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	resp := get(t, c, srv.URL+"/x?token=hidden")
	resp.Body.Close()

	if got := testutil.ToFloat64(m.requests.WithLabelValues("418")); got != 1 {
		t.Errorf("requests{code=418} = %v, want 1", got)
	}
	// No series names the tenant's host (or anything of the URL).
	host := strings.TrimPrefix(srv.URL, "http://")
	families, err := reg.Gather()
	if err != nil || len(families) == 0 {
		t.Fatalf("gathered %d families (%v)", len(families), err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), strings.Split(host, ":")[0]) || l.GetName() == "host" || strings.Contains(l.GetValue(), "hidden") {
					t.Errorf("series %s has label %s=%q", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if n := testutil.CollectAndCount(reg, "inthub_http_client_request_duration_seconds"); n != 1 {
		t.Errorf("duration series = %d, want 1", n)
	}
}
