package httpx

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/resilience"
)

// GuardPolicy is the operator's exception list to the SSRF guard; the zero
// value refuses every internal address, which is the safe default for a hub
// whose integration URLs are typed in by tenants.
type GuardPolicy struct {
	// AllowPrivate lifts the guard entirely (private, loopback, link-local,
	// documentation and benchmarking ranges, multicast and this machine's own
	// addresses alike), for hubs whose integrations all live on an internal
	// network or a lab numbered from a documentation or benchmarking range.
	AllowPrivate bool
	// AllowCIDRs lifts the guard for these ranges only (a registry's subnet,
	// a single on-premises host), whatever they hold: a range holding one of
	// this machine's addresses opens the hub's own services too.
	AllowCIDRs []netip.Prefix

	// machine is this machine's address list; nil means thisMachine. Tests
	// give their own.
	machine *machineAddrs
}

// Permits reports whether the guard lets a connection be opened to addr; an
// IPv4-mapped IPv6 address is judged as the IPv4 address it maps.
func (p GuardPolicy) Permits(addr netip.Addr) bool { return p.refusal(addr) == "" }

// refusal says what addr is when the policy refuses it ("in 127.0.0.0/8
// (Loopback)"), or returns "" when addr may be dialled. By default it
// refuses every address IANA's special-purpose registries do not mark
// globally reachable, multicast, the anycast services a local box answers,
// NAT64, 6to4 and Teredo forms of a refused IPv4 address, and this
// machine's own addresses (special.go and machine.go); the operator's
// AllowPrivate and AllowCIDRs lift all of that.
func (p GuardPolicy) refusal(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return "not a valid address"
	}
	if p.AllowPrivate {
		return ""
	}
	for _, allowed := range p.AllowCIDRs {
		if normalizePrefix(allowed).Contains(addr) {
			return ""
		}
	}
	if r, ok := specialRangeOf(addr); ok {
		switch r.verdict {
		case refused:
			return r.phrase()
		case judgeEmbedded:
			// The gateway connects to the embedded address: judge that one.
			for _, v4 := range r.embedded(addr) {
				if what := p.refusal(v4); what != "" {
					return "a " + r.note + " form of " + v4.String() + ", " + what
				}
			}
		}
	}
	machine := p.machine
	if machine == nil {
		machine = thisMachine
	}
	if machine.contains(addr) {
		return "an address of this machine"
	}
	return ""
}

// normalizePrefix turns an IPv4-mapped prefix (::ffff:10.0.0.0/104) into its
// IPv4 form, because the guard compares unmapped addresses.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// ParseGuardPolicy reads the operator's settings as they come from the
// environment: allowPrivate is a boolean ("" = false), cidrs a comma-separated
// list of CIDRs or single IP addresses.
func ParseGuardPolicy(allowPrivate, cidrs string) (GuardPolicy, error) {
	var p GuardPolicy
	if s := strings.TrimSpace(allowPrivate); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return GuardPolicy{}, resilience.New(resilience.InvalidConfig,
				"allow-private setting %q is not a boolean (use true or false)", s)
		}
		p.AllowPrivate = b
	}
	for _, field := range strings.Split(cidrs, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		prefix, err := parseAllowedCIDR(field)
		if err != nil {
			return GuardPolicy{}, err
		}
		p.AllowCIDRs = append(p.AllowCIDRs, prefix)
	}
	return p, nil
}

// parseAllowedCIDR accepts "10.0.0.0/8" or a bare address; it rejects host
// bits after the slash because "10.0.0.1/8" usually means a typo, and
// silently allowing a whole /8 is the wrong way to find out.
func parseAllowedCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, resilience.New(resilience.InvalidConfig,
				"allowed CIDR %q is neither a CIDR (like 10.0.0.0/8) nor an IP address", s)
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, resilience.New(resilience.InvalidConfig,
			"allowed CIDR %q is not a valid CIDR (like 10.0.0.0/8)", s)
	}
	p = normalizePrefix(p)
	if p != p.Masked() {
		return netip.Prefix{}, resilience.New(resilience.InvalidConfig,
			"allowed CIDR %q has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}

// literalAddr returns the address a URL host denotes without DNS: an IP
// literal, or (legacy=true) an IPv4 spelling that inet_aton(3) accepts and
// netip does not, such as 2130706433, 0x7f000001, 0177.0.0.1 or 127.1.
func literalAddr(host string) (addr netip.Addr, legacy, ok bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, false, true
	}
	if a, ok := parseLegacyIPv4(host); ok {
		return a, true, true
	}
	return netip.Addr{}, false, false
}

// parseLegacyIPv4 reads s the way inet_aton(3) does: one to four parts, each
// decimal, 0x-hexadecimal or 0-octal, the last part filling the remaining
// bytes. Some resolvers accept these, so the guard must read them too.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	s = strings.TrimSuffix(s, ".") // "127.0.0.1." is a fully qualified spelling
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var n uint64
	for i, part := range parts {
		v, ok := parseInetAtonPart(part)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if v > 0xff {
				return netip.Addr{}, false
			}
			n = n<<8 | v
			continue
		}
		rest := uint(8 * (4 - i)) // bits left for the last part
		if v >= 1<<rest {
			return netip.Addr{}, false
		}
		n = n<<rest | v
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// parseInetAtonPart parses one part of an inet_aton address.
func parseInetAtonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	if p == "" || p[0] == '+' || p[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseUint(p, base, 32)
	return v, err == nil
}
