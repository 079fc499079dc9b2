package httpx

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// machineAddrsMaxAge bounds how stale the list of this machine's addresses
// may be: an address added to an interface is refused at most this long
// after it appears. Listing the interfaces costs a netlink round trip, too
// much for every dial, and addresses rarely change.
const machineAddrsMaxAge = 5 * time.Second

// thisMachine is the list every policy checks unless a test gives its own.
// It is package state because it describes the process's host, which is
// one for every integration; it holds no integration data.
var thisMachine = newMachineAddrs(net.InterfaceAddrs, machineAddrsMaxAge, time.Now)

// machineAddrs is the set of addresses bound to this machine's interfaces,
// with the directed broadcast address of each IPv4 subnet: a URL pointing
// at the hub's own public address would reach services listening on all
// interfaces (the ingress, NATS monitoring) as surely as 127.0.0.1 does.
// Lookups are a map read; the list is refreshed on the first lookup after
// it is maxAge old, by one caller while the others use the old list.
type machineAddrs struct {
	list   func() ([]net.Addr, error)
	maxAge time.Duration
	now    func() time.Time

	refreshing sync.Mutex
	current    atomic.Pointer[addrSnapshot]
}

// addrSnapshot is one listing of the interfaces.
type addrSnapshot struct {
	taken time.Time
	addrs map[netip.Addr]struct{}
}

func newMachineAddrs(list func() ([]net.Addr, error), maxAge time.Duration, now func() time.Time) *machineAddrs {
	return &machineAddrs{list: list, maxAge: maxAge, now: now}
}

// contains reports whether addr (unmapped, without zone) is one of this
// machine's addresses or subnet broadcast addresses.
func (m *machineAddrs) contains(addr netip.Addr) bool {
	s := m.current.Load()
	if s == nil || m.now().Sub(s.taken) >= m.maxAge {
		s = m.refresh(s)
	}
	_, ok := s.addrs[addr]
	return ok
}

// refresh lists the interfaces again. Only the first lookup ever waits for
// it; later ones keep using seen while another goroutine refreshes. When
// listing fails the previous addresses are kept (the special-purpose table
// still refuses loopback and private ranges) and retried after maxAge.
func (m *machineAddrs) refresh(seen *addrSnapshot) *addrSnapshot {
	if seen == nil {
		m.refreshing.Lock()
	} else if !m.refreshing.TryLock() {
		return seen
	}
	defer m.refreshing.Unlock()
	if cur := m.current.Load(); cur != nil && cur != seen {
		return cur // refreshed while we waited
	}
	next := &addrSnapshot{taken: m.now(), addrs: map[netip.Addr]struct{}{}}
	ifaddrs, err := m.list()
	if err != nil && seen != nil {
		next.addrs = seen.addrs
	}
	for _, a := range ifaddrs {
		addInterfaceAddr(next.addrs, a)
	}
	m.current.Store(next)
	return next
}

// addInterfaceAddr adds an interface address and, for an IPv4 subnet wider
// than /31, its directed broadcast address.
func addInterfaceAddr(set map[netip.Addr]struct{}, a net.Addr) {
	var ip net.IP
	var mask net.IPMask
	switch v := a.(type) {
	case *net.IPNet:
		ip, mask = v.IP, v.Mask
	case *net.IPAddr:
		ip = v.IP
	default:
		return
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return
	}
	addr = addr.Unmap()
	set[addr] = struct{}{}
	if addr.Is4() && len(mask) == net.IPv6len {
		mask = mask[12:] // an IPv4 mask in 16-byte form
	}
	if ones, bits := mask.Size(); addr.Is4() && bits == 32 && ones < 31 {
		b := addr.As4()
		for i := range b {
			b[i] |= ^mask[i]
		}
		set[netip.AddrFrom4(b)] = struct{}{}
	}
}
