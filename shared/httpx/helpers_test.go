package httpx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

// errLeftMachine is what the tests' dial hook returns for any address that
// is not on this machine: tests must never send traffic elsewhere, even if
// the guard under test were wrong.
var errLeftMachine = errors.New("test: refusing to dial off this machine")

// dialRecord notes the addresses the guard let through to the dial hook.
type dialRecord struct {
	mu         sync.Mutex
	offMachine []netip.Addr
}

// hook lets loopback (and 0.0.0.0/::, which Linux dials locally) through and
// records and refuses everything else.
func (d *dialRecord) hook(_, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("test: unparseable dial address %q", address)
	}
	if a := ap.Addr().Unmap(); a.IsLoopback() || a.IsUnspecified() {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.offMachine = append(d.offMachine, ap.Addr().Unmap())
	return errLeftMachine
}

// attempted reports whether the guard passed addr to the dialer.
func (d *dialRecord) attempted(addr netip.Addr) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.offMachine {
		if a == addr {
			return true
		}
	}
	return false
}

// newTestClient is New with the stay-on-this-machine dial hook.
func newTestClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c, _ := newRecordedClient(t, opts)
	return c
}

// newRecordedClient also returns the record of off-machine dial attempts.
func newRecordedClient(t *testing.T, opts Options) (*Client, *dialRecord) {
	t.Helper()
	rec := &dialRecord{}
	c, err := newClient(opts, rec.hook)
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c, rec
}

// do sends a GET and returns the response or the error.
func do(t *testing.T, c *Client, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("NewRequest(%q): %v", rawURL, err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// get is do for requests that must succeed.
func get(t *testing.T, c *Client, rawURL string) *http.Response {
	t.Helper()
	resp, err := do(t, c, rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	return resp
}

// codeOf returns the resilience code of err, failing if it has none.
func codeOf(t *testing.T, err error) resilience.Code {
	t.Helper()
	var e *resilience.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *resilience.Error", err, err)
	}
	return e.Code
}

// countingServer is an httptest server on listenAddr that answers 200 "ok"
// and counts the requests it gets.
func countingServer(t *testing.T, listenAddr string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := serverOn(t, listenAddr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fmt.Fprint(w, "ok")
	}))
	return srv, &n
}

// serverOn starts an httptest server listening on listenAddr ("127.0.0.2:0").
func serverOn(t *testing.T, listenAddr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", listenAddr)
	if err != nil {
		t.Skipf("cannot listen on %s here: %v", listenAddr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// allow is a policy that permits the given CIDRs only.
func allow(cidrs ...string) GuardPolicy {
	var p GuardPolicy
	for _, c := range cidrs {
		p.AllowCIDRs = append(p.AllowCIDRs, netip.MustParsePrefix(c))
	}
	return p
}
