package httpx

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

// ssrfTarget is one internal destination the guard must refuse by default.
type ssrfTarget struct {
	name string
	// host is the URL host without port; "%d" hosts take the local server's
	// port, others use the scheme's default port.
	host string
	// local means the target reaches this machine's loopback servers when
	// the policy allows it; otherwise the dial hook must see dialAddr.
	local    bool
	v6       bool // local target served by the [::1] server
	dialAddr string
}

var ssrfTargets = []ssrfTarget{
	{name: "loopback", host: "127.0.0.1", local: true},
	{name: "ipv6 loopback", host: "[::1]", local: true, v6: true},
	{name: "cloud metadata", host: "169.254.169.254", dialAddr: "169.254.169.254"},
	{name: "rfc1918 10/8", host: "10.1.2.3", dialAddr: "10.1.2.3"},
	{name: "rfc1918 172.16/12", host: "172.16.0.1", dialAddr: "172.16.0.1"},
	{name: "rfc1918 192.168/16", host: "192.168.1.1", dialAddr: "192.168.1.1"},
	{name: "cgnat", host: "100.64.0.1", dialAddr: "100.64.0.1"},
	{name: "unspecified", host: "0.0.0.0", local: true},
	{name: "mapped loopback", host: "[::ffff:127.0.0.1]", local: true},
	{name: "mapped metadata", host: "[::ffff:169.254.169.254]", dialAddr: "169.254.169.254"},
	{name: "aws ipv6 metadata", host: "[fd00:ec2::254]", dialAddr: "fd00:ec2::254"},
	{name: "decimal", host: "2130706433", local: true},
	{name: "hex", host: "0x7f000001", local: true},
	{name: "octal", host: "0177.0.0.1", local: true},
	{name: "short", host: "127.1", local: true},
	{name: "localhost resolves to loopback", host: "localhost", local: true},
}

// url returns the target's URL; local targets point at the test servers.
func (tc ssrfTarget) url(v4Port, v6Port int) string {
	switch {
	case tc.v6:
		return fmt.Sprintf("http://%s:%d/ssrf", tc.host, v6Port)
	case tc.local:
		return fmt.Sprintf("http://%s:%d/ssrf", tc.host, v4Port)
	}
	return "http://" + tc.host + "/latest/meta-data/"
}

// portOf returns an httptest URL's port.
func portOf(t *testing.T, rawURL string) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	if _, err := fmt.Sscan(u.Port(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// v6Server starts the [::1] server, or returns 0 where IPv6 loopback is missing.
func v6Server(t *testing.T) (port int, hits func() int64) {
	t.Helper()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return 0, func() int64 { return 0 }
	}
	l.Close()
	srv, n := countingServer(t, "[::1]:0")
	return portOf(t, srv.URL), n.Load
}

func TestGuardRefusesInternalDestinations(t *testing.T) {
	t.Parallel()
	victim, hits := countingServer(t, "127.0.0.1:0")
	port := portOf(t, victim.URL)
	port6, hits6 := v6Server(t)

	// The redirector is the one address the policy allows: every hop after
	// it must be judged again.
	redirector := serverOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		fmt.Fprint(w, "redirector")
	}))
	c := newTestClient(t, Options{Policy: allow("127.0.0.2/32")})
	if body := readAll(t, get(t, c, redirector.URL)); body != "redirector" {
		t.Fatalf("allowed 127.0.0.2 answered %q", body)
	}

	t.Run("group", func(t *testing.T) {
		for _, tc := range ssrfTargets {
			target := tc.url(port, port6)
			t.Run("direct "+tc.name, func(t *testing.T) {
				t.Parallel()
				_, err := do(t, c, target)
				assertBlocked(t, err, hostOf(t, target))
			})
			t.Run("redirect to "+tc.name, func(t *testing.T) {
				t.Parallel()
				_, err := do(t, c, redirector.URL+"/?to="+url.QueryEscape(target))
				assertBlocked(t, err, hostOf(t, target))
			})
		}
	})
	if n := hits.Load() + hits6(); n != 0 {
		t.Errorf("the loopback servers got %d requests through the guard, want 0", n)
	}
}

// assertBlocked checks err is DESTINATION_BLOCKED and names host.
func assertBlocked(t *testing.T, err error, host string) {
	t.Helper()
	if err == nil {
		t.Fatal("request succeeded, want DESTINATION_BLOCKED")
	}
	if code := codeOf(t, err); code != resilience.DestinationBlocked {
		t.Fatalf("code = %s (%v), want DESTINATION_BLOCKED", code, err)
	}
	if !strings.Contains(err.Error(), host) {
		t.Errorf("error %q does not name the host %q", err, host)
	}
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGuardAllowPrivateReachesInternalDestinations(t *testing.T) {
	t.Parallel()
	victim, _ := countingServer(t, "127.0.0.1:0")
	port := portOf(t, victim.URL)
	port6, _ := v6Server(t)
	redirector := serverOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	c, dials := newRecordedClient(t, Options{Policy: GuardPolicy{AllowPrivate: true}})

	for _, tc := range ssrfTargets {
		target := tc.url(port, port6)
		for _, via := range []string{"direct", "redirect"} {
			t.Run(via+" "+tc.name, func(t *testing.T) {
				t.Parallel()
				if tc.v6 && port6 == 0 {
					t.Skip("no IPv6 loopback here")
				}
				u := target
				if via == "redirect" {
					u = redirector.URL + "/?to=" + url.QueryEscape(target)
				}
				resp, err := do(t, c, u)
				if tc.local {
					if err != nil {
						t.Fatalf("GET %s: %v", u, err)
					}
					if body := readAll(t, resp); body != "ok" {
						t.Errorf("body = %q, want ok", body)
					}
					return
				}
				// Off-machine targets: the guard must let them through to the
				// dialer, where the test hook stops them from leaving.
				if err == nil || resilience.CodeOf(err) == resilience.DestinationBlocked {
					t.Fatalf("err = %v, want the dial hook's refusal", err)
				}
				if !dials.attempted(netip.MustParseAddr(tc.dialAddr)) {
					t.Errorf("the guard never passed %s to the dialer (err %v)", tc.dialAddr, err)
				}
			})
		}
	}
}

func TestGuardAllowCIDRsLiftsOnlyListedRanges(t *testing.T) {
	t.Parallel()
	allowed, allowedHits := countingServer(t, "127.0.0.2:0")
	other, otherHits := countingServer(t, "127.0.0.3:0")
	c := newTestClient(t, Options{Policy: allow("127.0.0.2/32")})

	get(t, c, allowed.URL).Body.Close()
	_, err := do(t, c, other.URL)
	assertBlocked(t, err, hostOf(t, other.URL))
	if allowedHits.Load() != 1 || otherHits.Load() != 0 {
		t.Errorf("hits: allowed %d (want 1), other %d (want 0)", allowedHits.Load(), otherHits.Load())
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	// /hop/N redirects to /hop/N-1 until /hop/0 answers "ok".
	srv := serverOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		switch {
		case r.URL.Path == "/ftp":
			http.Redirect(w, r, "ftp://example.com/file", http.StatusFound)
		case r.URL.Path == "/file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case r.URL.Path == "/hop/0":
			fmt.Fprint(w, "ok")
		default:
			fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		}
	}))
	tests := []struct {
		name         string
		maxRedirects int
		path         string
		wantStatus   int
		wantCode     resilience.Code
		wantMsg      string
	}{
		{name: "within the default limit", path: "/hop/5", wantStatus: http.StatusOK},
		{name: "over the default limit", path: "/hop/6", wantCode: resilience.UpstreamError, wantMsg: "stopped after 5 redirects"},
		{name: "custom limit", maxRedirects: 2, path: "/hop/3", wantCode: resilience.UpstreamError, wantMsg: "stopped after 2 redirects"},
		{name: "not followed", maxRedirects: -1, path: "/hop/1", wantStatus: http.StatusFound},
		{name: "to ftp", path: "/ftp", wantCode: resilience.DestinationBlocked, wantMsg: `redirect to a "ftp" URL`},
		{name: "to file", path: "/file", wantCode: resilience.DestinationBlocked, wantMsg: `redirect to a "file" URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestClient(t, Options{MaxRedirects: tc.maxRedirects, Policy: allow("127.0.0.1/32")})
			resp, err := do(t, c, srv.URL+tc.path)
			if tc.wantCode != "" {
				if err == nil {
					t.Fatalf("status %d, want %s", resp.StatusCode, tc.wantCode)
				}
				if code := codeOf(t, err); code != tc.wantCode || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err = %v, want %s containing %q", err, tc.wantCode, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
		})
	}
}

func TestSchemeAndHostChecked(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, Options{})
	tests := []struct {
		name, url string
		want      resilience.Code
	}{
		{"ftp", "ftp://example.com/", resilience.InvalidConfig},
		{"file", "file:///etc/passwd", resilience.InvalidConfig},
		{"no host", "http:///path", resilience.InvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := do(t, c, tc.url)
			if err == nil || codeOf(t, err) != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestHTTPClientIsGuarded(t *testing.T) {
	t.Parallel()
	victim, hits := countingServer(t, "127.0.0.1:0")
	c := newTestClient(t, Options{})
	resp, err := c.HTTPClient().Get(victim.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("HTTPClient reached loopback")
	}
	if code := resilience.CodeOf(err); code != resilience.DestinationBlocked {
		t.Errorf("code through url.Error = %s, want DESTINATION_BLOCKED", code)
	}
	if hits.Load() != 0 {
		t.Errorf("victim got %d requests", hits.Load())
	}
}

func TestCheckURLBeforeDialling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policy   GuardPolicy
		url      string
		wantCode resilience.Code // "" = passes to the dialer
		wantMsg  string
	}{
		{name: "public literal", url: "https://93.184.216.34/"},
		{name: "hostname is left to the dialer", url: "https://registry.example.com/v2/"},
		{name: "loopback literal", url: "http://127.0.0.1:8080/", wantCode: resilience.DestinationBlocked,
			wantMsg: "refusing 127.0.0.1:8080: 127.0.0.1 is in 127.0.0.0/8 (Loopback)"},
		{name: "legacy decimal", url: "http://2130706433/", wantCode: resilience.DestinationBlocked,
			wantMsg: `"2130706433" is a legacy spelling of 127.0.0.1, in 127.0.0.0/8 (Loopback)`},
		{name: "legacy metadata", url: "http://0xa9fea9fe/", wantCode: resilience.DestinationBlocked,
			wantMsg: "169.254.169.254, in 169.254.0.0/16 (Link Local, cloud metadata)"},
		{name: "legacy public passes", url: "http://134744072/"},
		{name: "legacy allowed by cidr", policy: allow("127.0.0.0/8"), url: "http://127.1/"},
		{name: "nat64 of metadata", url: "http://[64:ff9b::a9fe:a9fe]/", wantCode: resilience.DestinationBlocked,
			wantMsg: "a NAT64 form of 169.254.169.254, in 169.254.0.0/16"},
		{name: "zone", url: "http://[fe80::1%25eth0]/", wantCode: resilience.DestinationBlocked, wantMsg: "fe80::/10 (Link-Local Unicast)"},
		{name: "scheme", url: "gopher://example.com/", wantCode: resilience.InvalidConfig, wantMsg: `scheme "gopher"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			err = checkURL(tc.policy, u)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("checkURL = %v, want nil", err)
				}
				return
			}
			if err == nil || resilience.CodeOf(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("checkURL = %v, want %s containing %q", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
}
