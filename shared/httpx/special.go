package httpx

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/csv"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// The IANA special-purpose address registries, as IANA publishes them (see
// iana/README.md for the source and how to update them). The guard's list
// of refused ranges is built from them, not typed by hand, so an entry IANA
// adds is one file copy away.
//
//go:embed iana/iana-ipv4-special-registry-1.csv iana/iana-ipv6-special-registry-1.csv
var ianaRegistries embed.FS

// ianaFiles are the registries read at init, in the order they are listed.
var ianaFiles = []string{"iana/iana-ipv4-special-registry-1.csv", "iana/iana-ipv6-special-registry-1.csv"}

// verdict is what the guard does with an address in a special range.
type verdict int

const (
	// reachable lets the address through (still subject to the check for
	// this machine's own addresses).
	reachable verdict = iota
	// refused blocks the address.
	refused
	// judgeEmbedded leaves the decision to the IPv4 address(es) the address
	// carries, which is where a NAT64, 6to4 or Teredo gateway connects.
	judgeEmbedded
)

// specialRange is one entry of the guard's table: an IANA registry entry or
// one of the additions below.
type specialRange struct {
	prefix  netip.Prefix
	name    string // IANA's name of the entry ("Loopback"), or ours
	verdict verdict
	// note is for the operator reading a refusal ("cloud metadata"); for a
	// judgeEmbedded entry it names the form ("NAT64").
	note string
	// embedded returns the IPv4 addresses a judgeEmbedded address carries.
	embedded func(netip.Addr) []netip.Addr
}

// decision overrides what a registry entry's "Globally Reachable" column
// says, for the entries where that column alone is not the right answer.
type decision struct {
	verdict  verdict
	note     string // as specialRange.note
	embedded func(netip.Addr) []netip.Addr
}

// localAnycast notes the anycast entries refused below.
const localAnycast = "anycast answered by a local server"

// decisions are keyed by the registry's address block; a test checks each
// key is still in the registries, so a typo cannot silently do nothing.
var decisions = map[netip.Prefix]decision{
	// Globally reachable (True) or "N/A": the address carries an IPv4
	// address and the gateway connects there, so that address decides.
	netip.MustParsePrefix("64:ff9b::/96"): {verdict: judgeEmbedded, note: "NAT64", embedded: nat64Embedded},
	netip.MustParsePrefix("2002::/16"):    {verdict: judgeEmbedded, note: "6to4", embedded: sixToFourEmbedded},
	netip.MustParsePrefix("2001::/32"):    {verdict: judgeEmbedded, note: "Teredo", embedded: teredoEmbedded},
	// IPv4-mapped addresses are judged as the IPv4 address they map
	// (GuardPolicy.refusal unmaps them first); the entry stays for the test
	// that walks the registries.
	netip.MustParsePrefix("::ffff:0:0/96"): {verdict: judgeEmbedded, note: "IPv4-mapped", embedded: mappedEmbedded},

	// Globally reachable anycast services are answered by the nearest
	// instance, which may be a box on the hub's own network (a home or
	// enterprise gateway answering PCP, a local TURN server, a Thread border
	// router answering SRP, an AS112 sink or AMT relay run by the site). No
	// integration lives there, so the guard refuses them.
	netip.MustParsePrefix("192.0.0.9/32"):      {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("192.0.0.10/32"):     {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("2001:1::1/128"):     {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("2001:1::2/128"):     {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("2001:1::3/128"):     {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("192.31.196.0/24"):   {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("192.175.48.0/24"):   {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("2001:4:112::/48"):   {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("2620:4f:8000::/48"): {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("192.52.193.0/24"):   {verdict: refused, note: localAnycast},
	netip.MustParsePrefix("2001:3::/32"):       {verdict: refused, note: localAnycast},

	// Not globally reachable, as the registry says; the note helps the
	// operator recognise the usual SSRF target.
	netip.MustParsePrefix("169.254.0.0/16"): {verdict: refused, note: "cloud metadata"},
	netip.MustParsePrefix("fc00::/7"):       {verdict: refused, note: "incl. fd00:ec2::254, cloud metadata"},
}

// additions are ranges the special-purpose registries do not list (they
// live in other registries or were deprecated before the registries were
// restructured by RFC 6890) but that are never an integration's address.
// Limited broadcast (255.255.255.255/32) is in the IPv4 registry; the
// directed broadcast addresses of this machine's subnets are refused with
// its own addresses (see machineAddrs).
var additions = []specialRange{
	{prefix: netip.MustParsePrefix("224.0.0.0/4"), name: "Multicast (RFC 5771)", verdict: refused},
	{prefix: netip.MustParsePrefix("ff00::/8"), name: "Multicast (RFC 4291)", verdict: refused},
	// IPv4-compatible addresses (RFC 4291, section 2.5.5.1) are deprecated;
	// some stacks still route ::a.b.c.d to the IPv4 address.
	{prefix: netip.MustParsePrefix("::/96"), name: "IPv4-compatible (deprecated, RFC 4291)", verdict: refused},
	// Site-local addresses (RFC 3879) are deprecated but still private.
	{prefix: netip.MustParsePrefix("fec0::/10"), name: "Site-local (deprecated, RFC 3879)", verdict: refused},
}

// specialRanges4 and specialRanges6 are the table, most specific prefix
// first, so the first match is the entry that decides (a globally
// reachable entry inside a refused one, like AMT in 2001::/23, wins).
var specialRanges4, specialRanges6 = mustBuildSpecialRanges()

// mustBuildSpecialRanges reads the embedded registries; they are part of
// the binary, so an error is a build defect and panics at init.
func mustBuildSpecialRanges() (v4, v6 []specialRange) {
	var all []specialRange
	for _, name := range ianaFiles {
		data, err := ianaRegistries.ReadFile(name)
		if err != nil {
			panic(err)
		}
		entries, err := parseRegistry(data)
		if err != nil {
			panic(fmt.Sprintf("httpx: %s: %v", name, err))
		}
		all = append(all, entries...)
	}
	all = append(all, additions...)
	for _, r := range all {
		if r.prefix.Addr().Is4() {
			v4 = append(v4, r)
		} else {
			v6 = append(v6, r)
		}
	}
	mostSpecificFirst := func(a, b specialRange) int { return cmp.Compare(b.prefix.Bits(), a.prefix.Bits()) }
	slices.SortStableFunc(v4, mostSpecificFirst)
	slices.SortStableFunc(v6, mostSpecificFirst)
	return v4, v6
}

// footnote is a mark like " [2]" that IANA appends to a cell, citing a note
// under its table.
var footnote = regexp.MustCompile(`\s*\[\d+\]`)

// registryColumns are the columns parseRegistry needs.
var registryColumns = []string{"Address Block", "Name", "Termination Date", "Globally Reachable"}

// parseRegistry reads one registry CSV. An entry is refused unless its
// "Globally Reachable" column is True: False, N/A and the empty cells of a
// terminated entry all refuse, unless decisions says otherwise. A cell may
// hold several blocks ("192.0.0.170/32, 192.0.0.171/32").
func parseRegistry(data []byte) ([]specialRange, error) {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no entries")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimPrefix(strings.TrimSpace(name), "\ufeff")] = i
	}
	for _, name := range registryColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("no %q column", name)
		}
	}
	var out []specialRange
	for _, row := range rows[1:] {
		cell := func(name string) string {
			return strings.TrimSpace(footnote.ReplaceAllString(row[col[name]], ""))
		}
		var v verdict
		switch reach := cell("Globally Reachable"); {
		case reach == "True":
			v = reachable
		case reach == "False", reach == "N/A", reach == "" && cell("Termination Date") != "N/A":
			v = refused
		default:
			return nil, fmt.Errorf("%s: Globally Reachable is %q", cell("Address Block"), reach)
		}
		for _, block := range strings.Split(cell("Address Block"), ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(block))
			if err != nil || p != p.Masked() {
				return nil, fmt.Errorf("address block %q is not a CIDR", block)
			}
			r := specialRange{prefix: p, name: cell("Name"), verdict: v}
			if d, ok := decisions[p]; ok {
				r.verdict, r.note, r.embedded = d.verdict, d.note, d.embedded
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// specialRangeOf returns the most specific table entry holding addr, which
// must be unmapped and without zone.
func specialRangeOf(addr netip.Addr) (specialRange, bool) {
	table := specialRanges6
	if addr.Is4() {
		table = specialRanges4
	}
	for _, r := range table {
		if r.prefix.Contains(addr) {
			return r, true
		}
	}
	return specialRange{}, false
}

// phrase is the refusal's wording: "in 127.0.0.0/8 (Loopback)".
func (r specialRange) phrase() string {
	if r.note != "" {
		return "in " + r.prefix.String() + " (" + r.name + ", " + r.note + ")"
	}
	return "in " + r.prefix.String() + " (" + r.name + ")"
}

// nat64Embedded is the IPv4 address in the last 32 bits of a
// 64:ff9b::/96 address (RFC 6052, section 2.2).
func nat64Embedded(addr netip.Addr) []netip.Addr {
	b := addr.As16()
	return []netip.Addr{netip.AddrFrom4([4]byte(b[12:16]))}
}

// sixToFourEmbedded is the IPv4 address in bits 16..47 of a 2002::/16
// address (RFC 3056, section 2).
func sixToFourEmbedded(addr netip.Addr) []netip.Addr {
	b := addr.As16()
	return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}
}

// teredoEmbedded is the Teredo server's IPv4 address (bits 32..63) and the
// client's public IPv4 address (the last 32 bits, inverted) of a 2001::/32
// address (RFC 4380, section 4): a relay sends to the client's address, and
// a host that is itself a Teredo client talks to the server.
func teredoEmbedded(addr netip.Addr) []netip.Addr {
	b := addr.As16()
	client := [4]byte{b[12] ^ 0xff, b[13] ^ 0xff, b[14] ^ 0xff, b[15] ^ 0xff}
	return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}
}

// mappedEmbedded is the IPv4 address of an IPv4-mapped address.
func mappedEmbedded(addr netip.Addr) []netip.Addr { return []netip.Addr{addr.Unmap()} }
