package httpx

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

// fakeInterfaces is a settable interface list with a settable clock.
type fakeInterfaces struct {
	mu    sync.Mutex
	addrs []net.Addr
	err   error
	calls int
	now   time.Time
}

func (f *fakeInterfaces) list() ([]net.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.addrs, f.err
}

func (f *fakeInterfaces) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeInterfaces) set(err error, cidrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs, f.err = nil, err
	for _, c := range cidrs {
		ip, n, e := net.ParseCIDR(c)
		if e != nil {
			panic(e)
		}
		n.IP = ip
		f.addrs = append(f.addrs, n)
	}
}

func (f *fakeInterfaces) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeInterfaces) listed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func newFakeMachine(cidrs ...string) (*fakeInterfaces, *machineAddrs) {
	f := &fakeInterfaces{now: time.Unix(1_700_000_000, 0)}
	f.set(nil, cidrs...)
	return f, newMachineAddrs(f.list, machineAddrsMaxAge, f.clock)
}

// A public address of this machine (and its subnet's broadcast address) is
// refused like loopback, in every form, unless the operator allows it.
func TestPolicyRefusesThisMachine(t *testing.T) {
	t.Parallel()
	_, machine := newFakeMachine("93.184.216.34/24", "2606:2800:220:1::1/64", "8.8.4.4/31")
	deny := GuardPolicy{machine: machine}
	allowHost := GuardPolicy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("93.184.216.34/32")}, machine: machine}
	open := GuardPolicy{AllowPrivate: true, machine: machine}
	tests := []struct {
		name   string
		policy GuardPolicy
		addr   string
		want   string // "" = permitted
	}{
		{"own v4", deny, "93.184.216.34", "an address of this machine"},
		{"own v4 mapped", deny, "::ffff:93.184.216.34", "an address of this machine"},
		{"own subnet broadcast", deny, "93.184.216.255", "an address of this machine"},
		{"neighbour", deny, "93.184.216.35", ""},
		{"own v6", deny, "2606:2800:220:1::1", "an address of this machine"},
		{"v6 neighbour", deny, "2606:2800:220:1::2", ""},
		{"no broadcast on a /31", deny, "8.8.4.5", ""},
		{"own /31 address", deny, "8.8.4.4", "an address of this machine"},
		{"nat64 form of own v4", deny, "64:ff9b::5db8:d822", "a NAT64 form of 93.184.216.34, an address of this machine"},
		{"6to4 form of own v4", deny, "2002:5db8:d822::1", "a 6to4 form of 93.184.216.34, an address of this machine"},
		{"allowed cidr lifts it", allowHost, "93.184.216.34", ""},
		{"allow private lifts it", open, "93.184.216.34", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.policy.refusal(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("refusal(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

// The list is read once per maxAge, follows changes after that, and keeps
// the last good list when listing fails.
func TestMachineAddrsRefresh(t *testing.T) {
	t.Parallel()
	f, m := newFakeMachine("93.184.216.34/24")
	a, b := netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("1.1.1.1")
	if !m.contains(a) || m.contains(b) || f.listed() != 1 {
		t.Fatalf("first lookup: contains %v %v after %d listings", m.contains(a), m.contains(b), f.listed())
	}
	f.set(nil, "1.1.1.1/32")
	f.advance(machineAddrsMaxAge - time.Millisecond)
	if !m.contains(a) || m.contains(b) || f.listed() != 1 {
		t.Fatalf("within maxAge the list must not be read again (%d listings)", f.listed())
	}
	f.advance(time.Millisecond)
	if m.contains(a) || !m.contains(b) || f.listed() != 2 {
		t.Fatalf("after maxAge: contains %v %v after %d listings, want the new list", m.contains(a), m.contains(b), f.listed())
	}
	f.set(errors.New("netlink: no buffer space"))
	f.advance(machineAddrsMaxAge)
	if !m.contains(b) || f.listed() != 3 {
		t.Fatalf("a failed listing must keep the last list (%d listings)", f.listed())
	}
}

// A lookup never waits for another goroutine's refresh once a list exists.
func TestMachineAddrsConcurrent(t *testing.T) {
	t.Parallel()
	f, m := newFakeMachine("93.184.216.34/24")
	a := netip.MustParseAddr("93.184.216.34")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 200 {
				if !m.contains(a) {
					t.Error("lost the address during a refresh")
					return
				}
				if i == 0 {
					f.advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := f.listed(); n < 2 {
		t.Errorf("%d listings over %s of fake time", n, 200*time.Second)
	}
}

// ownAddress returns a non-loopback, non-link-local address of this
// machine's interfaces that a server can listen on.
func ownAddress(t *testing.T) netip.Addr {
	t.Helper()
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("cannot list this machine's interface addresses: %v", err)
	}
	var candidates []netip.Addr
	for _, ia := range ifaddrs {
		n, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		a = a.Unmap()
		if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
			continue
		}
		candidates = append(candidates, a)
	}
	// Prefer IPv4: any machine with a network has one, and it listens
	// without a zone.
	for _, a := range candidates {
		if a.Is4() {
			return a
		}
	}
	if len(candidates) > 0 {
		return candidates[0]
	}
	t.Skip("this machine has no non-loopback, non-link-local interface address to test with")
	return netip.Addr{}
}

// A URL at this machine's own (non-loopback) address is refused by the
// default policy before anything is sent, and an operator's allowed CIDR
// for it lets it through.
func TestGuardRefusesThisMachinesAddress(t *testing.T) {
	t.Parallel()
	own := ownAddress(t)
	if !thisMachine.contains(own) {
		t.Fatalf("%s is an interface address but not in the guard's list", own)
	}
	victim, hits := countingServer(t, netip.AddrPortFrom(own, 0).String())
	// Default policy: refused, whichever range the address is in.
	c, err := New(Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	_, err = do(t, c, victim.URL)
	if code := resilience.CodeOf(err); code != resilience.DestinationBlocked {
		t.Fatalf("GET %s: %v, want DESTINATION_BLOCKED", victim.URL, err)
	}
	if !strings.Contains(err.Error(), own.String()) {
		t.Errorf("error %q does not name %s", err, own)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the machine's own server got %d requests", n)
	}
	// The operator's override still works.
	allowed, err := New(Options{Timeout: 5 * time.Second,
		Policy: GuardPolicy{AllowCIDRs: []netip.Prefix{netip.PrefixFrom(own, own.BitLen())}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(allowed.CloseIdleConnections)
	if body := readAll(t, get(t, allowed, victim.URL)); body != "ok" || hits.Load() != 1 {
		t.Errorf("with %s allowed: body %q, %d hits", own, body, hits.Load())
	}
}
