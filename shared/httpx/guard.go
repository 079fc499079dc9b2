package httpx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// checkURL refuses what can be refused before any DNS lookup: schemes other
// than http(s) and hosts that are IP literals (including legacy IPv4
// spellings) the policy does not permit. Names are left to the dialer.
func checkURL(policy GuardPolicy, u *url.URL) error {
	switch u.Scheme {
	case "http", "https":
	default:
		return resilience.New(resilience.InvalidConfig,
			"URL scheme %q is not allowed: use http or https", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return resilience.New(resilience.InvalidConfig, "URL %s://%s has no host", u.Scheme, u.Host)
	}
	addr, legacy, ok := literalAddr(host)
	if !ok {
		return nil
	}
	what := policy.refusal(addr)
	switch {
	case what == "":
		return nil
	case legacy:
		return resilience.New(resilience.DestinationBlocked,
			"refusing %s: %q is a legacy spelling of %s, %s, not allowed by the outbound policy",
			u.Host, host, addr, what)
	default:
		return resilience.New(resilience.DestinationBlocked,
			"refusing %s: %s is %s, not allowed by the outbound policy", u.Host, addr.Unmap(), what)
	}
}

// refusedAddr is the dialer's refusal; dialContext turns it into an error
// that names the host the caller asked for.
type refusedAddr struct {
	addr string
	what string
}

func (r *refusedAddr) Error() string { return r.addr + " is " + r.what }

// dialGuard opens connections only to addresses its policy permits.
type dialGuard struct {
	policy GuardPolicy
	dialer *net.Dialer
	// afterCheck runs once the policy has passed an address; tests use it to
	// make sure nothing leaves the machine even if the policy were wrong.
	afterCheck func(network, address string) error
}

func newDialGuard(policy GuardPolicy, timeout time.Duration, afterCheck func(string, string) error) *dialGuard {
	g := &dialGuard{policy: policy, afterCheck: afterCheck}
	g.dialer = &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.control}
	return g
}

// control runs after DNS resolution with the address about to be connected
// to, for every address tried: this is where the guard cannot be fooled by
// a rebinding name or a redirect.
func (g *dialGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusedAddr{addr: address, what: "not an IP address and port"}
	}
	addr := ap.Addr().Unmap()
	if what := g.policy.refusal(addr); what != "" {
		return &refusedAddr{addr: addr.String(), what: what}
	}
	if g.afterCheck != nil {
		return g.afterCheck(network, address)
	}
	return nil
}

// dialContext dials hostport through the guard. A legacy IPv4 spelling is
// dialled as the address inet_aton reads, so every resolver agrees with the
// address the guard judged.
func (g *dialGuard) dialContext(ctx context.Context, network, hostport string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err == nil {
		if addr, legacy, ok := literalAddr(host); ok && legacy {
			hostport = net.JoinHostPort(addr.String(), port)
		}
	}
	conn, err := g.dialer.DialContext(ctx, network, hostport)
	var refused *refusedAddr
	if errors.As(err, &refused) {
		return nil, &resilience.Error{
			Code: resilience.DestinationBlocked,
			Message: fmt.Sprintf("refusing to connect to %s: %s, not allowed by the outbound policy",
				net.JoinHostPort(host, port), refused),
		}
	}
	return conn, err
}

// NewDialer returns a dial function for protocols other than HTTP (SMTP)
// that goes through the same guard as Client: the policy judges every
// address actually connected to, after DNS, and a refusal is a
// DESTINATION_BLOCKED *resilience.Error naming the host.
func NewDialer(policy GuardPolicy, timeout time.Duration) func(ctx context.Context, network, address string) (net.Conn, error) {
	return newDialGuard(policy, timeout, nil).dialContext
}
