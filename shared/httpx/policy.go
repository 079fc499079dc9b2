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
	// AllowPrivate lifts the guard entirely, for hubs whose integrations all
	// live on an internal network.
	AllowPrivate bool
	// AllowCIDRs lifts the guard for these ranges only (a registry's subnet,
	// a single on-premises host).
	AllowCIDRs []netip.Prefix
}

// blockedRange is an address range refused by default, with the phrase an
// operator reads in the error ("127.0.0.1 is a loopback address").
type blockedRange struct {
	prefix netip.Prefix
	what   string
}

// blockedRanges is checked in order; the first match names the refusal.
var blockedRanges = []blockedRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local (cloud metadata) address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},
	{netip.MustParsePrefix("::/128"), "an unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	// IPv4-compatible addresses are deprecated; nothing public uses them.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address"},
	{netip.MustParsePrefix("fc00::/7"), "a unique local address (incl. fd00:ec2::254 cloud metadata)"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// Prefixes whose addresses carry an IPv4 address that a gateway will dial.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// Permits reports whether the guard lets a connection be opened to addr; an
// IPv4-mapped IPv6 address is judged as the IPv4 address it maps.
func (p GuardPolicy) Permits(addr netip.Addr) bool { return p.refusal(addr) == "" }

// refusal says what addr is when the policy refuses it ("a loopback
// address"), or returns "" when addr may be dialled.
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
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.what
		}
	}
	// A NAT64 or 6to4 gateway would connect to the embedded IPv4 address.
	if v4, ok := embeddedIPv4(addr); ok {
		if what := p.refusal(v4); what != "" {
			return "a NAT64/6to4 form of " + v4.String() + ", " + what
		}
	}
	return ""
}

// embeddedIPv4 extracts the IPv4 address of a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	b := addr.As16()
	switch {
	case !addr.Is6():
		return netip.Addr{}, false
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
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
