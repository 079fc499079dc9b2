package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

// A client from Recording keeps a timeout as TIMEOUT: http.Client's Timeout
// reaches the transport as "request canceled", which read as
// UPSTREAM_ERROR before.
func TestRecordingKeepsTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // accepted, never answered
		}
	}()
	c := newTestClient(t, Options{Policy: GuardPolicy{AllowPrivate: true}, Timeout: 50 * time.Millisecond})
	// The transport's "request canceled" and the context's end race: try
	// often enough to meet both orders.
	for i := range 20 {
		hc, rec := c.Recording()
		resp, err := hc.Post("http://"+ln.Addr().String()+"/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=x"))
		if err == nil {
			resp.Body.Close()
			t.Fatal("a server that never answers answered")
		}
		if got := rec.Failure(); got == nil || got.Code != resilience.Timeout {
			t.Fatalf("attempt %d: recorded %v (request error %v), want TIMEOUT", i, got, err)
		}
	}
}
