package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// baseOf is the shared transport a client sends through.
func baseOf(c *Client) *baseTransport { return c.hc.Transport.(*transport).shared }

func mustNew(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// TestClientsShareTransportOnlyWithIdenticalSettings: clients whose
// transport settings are the same share one *http.Transport (whatever their
// per-integration options), and any difference in timeout, TLS options or
// guard policy gives a transport of its own.
func TestClientsShareTransportOnlyWithIdenticalSettings(t *testing.T) {
	t.Parallel()
	certA, keyA, _ := clientIdentity(t, "a")
	certB, keyB, _ := clientIdentity(t, "b")
	caPEM, _, _ := clientIdentity(t, "ca")
	otherCA, _, _ := clientIdentity(t, "other-ca")
	ref := Options{Timeout: 7 * time.Second, CACertPEM: caPEM, ClientCertPEM: certA, ClientKeyPEM: keyA, Policy: loopbackOnly}

	a := mustNew(t, ref)
	same := ref
	same.UserAgent, same.RateLimit, same.MaxConcurrent, same.HidePath = "other", 3, 2, true
	same.CACertPEM = append([]byte(nil), caPEM...) // equal content, another slice
	b := mustNew(t, same)
	if baseOf(a) != baseOf(b) || baseOf(a).rt != b.hc.Transport.(*transport).base {
		t.Fatal("two clients with identical transport settings do not share a transport")
	}
	if a.hc.Transport.(*transport).limit == b.hc.Transport.(*transport).limit {
		t.Fatal("the limiter is shared; it is per integration")
	}

	variants := map[string]func(o *Options){
		"timeout":              func(o *Options) { o.Timeout = 8 * time.Second },
		"insecure skip verify": func(o *Options) { o.InsecureSkipVerify = true },
		"no CA":                func(o *Options) { o.CACertPEM = nil },
		"other CA":             func(o *Options) { o.CACertPEM = otherCA },
		"other client cert":    func(o *Options) { o.ClientCertPEM, o.ClientKeyPEM = certB, keyB },
		"no client cert":       func(o *Options) { o.ClientCertPEM, o.ClientKeyPEM = nil, nil },
		"allow private":        func(o *Options) { o.Policy = GuardPolicy{AllowPrivate: true} },
		"default policy":       func(o *Options) { o.Policy = GuardPolicy{} },
		"other CIDR": func(o *Options) {
			o.Policy = GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
		},
		"other machine": func(o *Options) { o.Policy.machine = &machineAddrs{} },
	}
	seen := map[*baseTransport]string{baseOf(a): "reference"}
	for name, change := range variants {
		o := ref
		change(&o)
		c := mustNew(t, o)
		if prev, ok := seen[baseOf(c)]; ok {
			t.Errorf("%s: shares the transport of %s", name, prev)
		}
		seen[baseOf(c)] = name
	}

	// A dial hook cannot be compared: a client with one never shares.
	h1, err := newClient(ref, func(string, string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if baseOf(h1) == baseOf(a) {
		t.Fatal("a client with a dial hook shares a transport")
	}
}

// countConns serves TLS and counts the connections it accepts.
func countConns(srv *httptest.Server) *atomic.Int32 {
	var n atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

// TestSharedTransportNeverLendsAConnectionAcrossTLSSettings: a connection
// opened with one client's CA or client certificate is reused by an
// identical client, and never serves one whose TLS settings differ.
func TestSharedTransportNeverLendsAConnectionAcrossTLSSettings(t *testing.T) {
	t.Parallel()
	plain := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	plain.Config.ErrorLog = quietLog
	plainConns := countConns(plain)
	plain.StartTLS()
	t.Cleanup(plain.Close)

	certA, keyA, caA := clientIdentity(t, "tenant-a")
	certB, keyB, caB := clientIdentity(t, "tenant-b")
	stranger, strangerKey, _ := clientIdentity(t, "stranger")
	mtls := newMTLSServer(caA, caB)
	mtlsConns := countConns(mtls)
	mtls.StartTLS()
	t.Cleanup(mtls.Close)

	// The clients stay alive to the end: a transport whose last client is
	// collected closes its idle connections.
	var alive []*Client
	defer runtime.KeepAlive(&alive)
	get := func(c *Client, url string) (string, error) {
		alive = append(alive, c)
		resp, err := do(t, c, url)
		if err != nil {
			return "", err
		}
		return readAll(t, resp), nil
	}
	// The server's CA, then an identical client: one connection between them.
	withCA := Options{Timeout: 9 * time.Second, CACertPEM: serverCAPEM(plain), Policy: loopbackOnly}
	for i, ua := range []string{"first", "second"} {
		o := withCA
		o.UserAgent = ua
		if body, err := get(mustNew(t, o), plain.URL+"/"); err != nil || body != "ok" {
			t.Fatalf("client %d with the CA: %q, %v", i, body, err)
		}
	}
	if n := plainConns.Load(); n != 1 {
		t.Errorf("two identical clients opened %d connections, want 1 (shared)", n)
	}
	// Without the CA the idle, verified connection must not be lent.
	noCA := withCA
	noCA.CACertPEM = nil
	if _, err := get(mustNew(t, noCA), plain.URL+"/"); err == nil || !strings.Contains(err.Error(), "TLS verification failed") {
		t.Fatalf("client without the CA: err = %v, want TLS verification failed", err)
	}

	// Each client certificate gets its own connections and identity.
	mtlsOpts := func(cert, key []byte) Options {
		return Options{Timeout: 9 * time.Second, CACertPEM: serverCAPEM(mtls), ClientCertPEM: cert, ClientKeyPEM: key, Policy: loopbackOnly}
	}
	for _, step := range []struct {
		cert, key []byte
		want      string
	}{
		{certA, keyA, "hello tenant-a"},
		{certB, keyB, "hello tenant-b"},
		{certA, keyA, "hello tenant-a"},
	} {
		if body, err := get(mustNew(t, mtlsOpts(step.cert, step.key)), mtls.URL+"/"); err != nil || body != step.want {
			t.Fatalf("body = %q, %v; want %q", body, err, step.want)
		}
	}
	if n := mtlsConns.Load(); n != 2 {
		t.Errorf("two client certificates over three requests opened %d connections, want 2", n)
	}
	_, err := get(mustNew(t, mtlsOpts(stranger, strangerKey)), mtls.URL+"/")
	if err == nil || !strings.Contains(err.Error(), "TLS handshake failed") {
		t.Fatalf("untrusted client certificate: err = %v, want TLS handshake failed", err)
	}
	// The guard still judges a client whose policy refuses loopback, even
	// with idle connections to the server in another client's pool.
	refusing := withCA
	refusing.Policy = GuardPolicy{}
	if _, err := get(mustNew(t, refusing), plain.URL+"/"); resilience.CodeOf(err) != resilience.DestinationBlocked {
		t.Fatalf("default policy: err = %v, want DESTINATION_BLOCKED", err)
	}
}

// TestSharedTransportIsDroppedWithItsLastClient: the table holds transports
// weakly, so the transports of deleted integrations do not accumulate.
func TestSharedTransportIsDroppedWithItsLastClient(t *testing.T) {
	t.Parallel()
	opts := Options{Timeout: 4321 * time.Millisecond, Policy: loopbackOnly}
	func() {
		c1, c2 := mustNew(t, opts), mustNew(t, opts)
		if baseOf(c1) != baseOf(c2) {
			t.Fatal("not shared")
		}
	}()
	o, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	k := keyOf(o)
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		bases.mu.Lock()
		_, held := bases.m[k]
		bases.mu.Unlock()
		if !held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the transport's entry outlived its clients")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
