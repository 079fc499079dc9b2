package httpx

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

// A client from Recording keeps the guard's refusal even when the caller
// (an SDK) reduces the error to text, on a direct request and after a
// redirect, and records nothing when an answer came.
func TestRecording(t *testing.T) {
	t.Parallel()
	victim, hits := countingServer(t, "127.0.0.1:0")
	redirector := serverOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		fmt.Fprint(w, "redirector")
	}))
	c := newTestClient(t, Options{Policy: allow("127.0.0.2/32")})
	tests := []struct {
		name string
		url  string
		want resilience.Code // "" = no failure recorded
	}{
		{"answered", redirector.URL, ""},
		{"blocked", victim.URL, resilience.DestinationBlocked},
		{"redirect to blocked", redirector.URL + "/?to=" + url.QueryEscape(victim.URL), resilience.DestinationBlocked},
		{"redirect to another scheme", redirector.URL + "/?to=" + url.QueryEscape("file:///etc/passwd"), resilience.DestinationBlocked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hc, rec := c.Recording()
			resp, err := hc.Get(tc.url)
			if err == nil {
				resp.Body.Close()
			}
			got := rec.Failure()
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("recorded %v after an answer", got)
			case tc.want != "" && (got == nil || got.Code != tc.want):
				t.Fatalf("recorded %v (request error %v), want %s", got, err, tc.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the blocked server got %d requests", n)
	}
}
