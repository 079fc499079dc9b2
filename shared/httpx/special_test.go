package httpx

import (
	"encoding/csv"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// registryEntry is one address block of an IANA registry as the test reads
// the CSV itself, independently of parseRegistry.
type registryEntry struct {
	prefix    netip.Prefix
	name      string
	reachable string // the "Globally Reachable" cell without its footnote
}

// readRegistryFile reads an embedded registry file from disk.
func readRegistryFile(t *testing.T, name string) []registryEntry {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "Address Block,Name,RFC,Allocation Date,Termination Date,Source,Destination,Forwardable,Globally Reachable,Reserved-by-Protocol" {
		t.Fatalf("%s: header %q", name, got)
	}
	var out []registryEntry
	for _, row := range rows[1:] {
		reach, _, _ := strings.Cut(row[8], " [")
		blocks, _, _ := strings.Cut(row[0], " [")
		for _, b := range strings.Split(blocks, ", ") {
			out = append(out, registryEntry{prefix: netip.MustParsePrefix(b), name: row[1], reachable: reach})
		}
	}
	return out
}

// The guard's decisions the test expects, written out rather than read
// from decisions: globally reachable anycast services answered by a local
// server are refused; the transition forms are judged by the IPv4 address
// they carry.
var (
	wantLocalAnycast = map[string]bool{
		"192.0.0.9/32": true, "192.0.0.10/32": true, "2001:1::1/128": true, "2001:1::2/128": true, "2001:1::3/128": true,
		"192.31.196.0/24": true, "192.175.48.0/24": true, "2001:4:112::/48": true, "2620:4f:8000::/48": true,
		"192.52.193.0/24": true, "2001:3::/32": true,
	}
	wantAdditions = []netip.Prefix{
		netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("ff00::/8"),
		netip.MustParsePrefix("::/96"), netip.MustParsePrefix("fec0::/10"),
	}
)

// oracle decides an address the way the guard must, from the registries'
// raw entries: the most specific entry holding the address decides.
type oracle []registryEntry

func (o oracle) permits(a netip.Addr) bool {
	a = a.Unmap()
	var best *registryEntry
	for i := range o {
		if e := &o[i]; e.prefix.Contains(a) && (best == nil || e.prefix.Bits() > best.prefix.Bits()) {
			best = e
		}
	}
	if best == nil {
		for _, p := range wantAdditions {
			if p.Contains(a) {
				return false
			}
		}
		return true
	}
	b := a.As16()
	switch best.prefix.String() {
	case "64:ff9b::/96": // NAT64: the last 32 bits
		return o.permits(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case "2002::/16": // 6to4: bits 16..47
		return o.permits(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	case "2001::/32": // Teredo: the server (bits 32..63) and the client (last 32 bits, inverted)
		return o.permits(netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})) &&
			o.permits(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}))
	}
	if wantLocalAnycast[best.prefix.String()] {
		return false
	}
	return best.reachable == "True"
}

// samples are a block's first, middle and last addresses.
func samples(p netip.Prefix) []netip.Addr {
	first := p.Addr()
	b := first.AsSlice()
	last := first.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		last[i/8] |= 0x80 >> (i % 8)
	}
	if p.Bits() < len(b)*8 {
		b[p.Bits()/8] |= 0x80 >> (p.Bits() % 8)
	}
	mid, _ := netip.AddrFromSlice(b)
	end, _ := netip.AddrFromSlice(last)
	return []netip.Addr{first, mid, end}
}

// noMachine is a policy whose machine has no addresses, so that only the
// special-purpose table decides.
func noMachine() *machineAddrs {
	return newMachineAddrs(func() ([]net.Addr, error) { return nil, nil }, machineAddrsMaxAge, time.Now)
}

// TestEveryRegistryEntry walks every entry of both IANA registries and
// checks the guard's verdict on its first, middle and last address.
func TestEveryRegistryEntry(t *testing.T) {
	t.Parallel()
	v4 := readRegistryFile(t, "iana/iana-ipv4-special-registry-1.csv")
	v6 := readRegistryFile(t, "iana/iana-ipv6-special-registry-1.csv")
	if len(v4) != 26 || len(v6) != 25 {
		t.Fatalf("read %d IPv4 and %d IPv6 blocks, want 26 and 25 (25 IPv4 rows, one with two blocks; 25 IPv6 rows)", len(v4), len(v6))
	}
	if got, want := len(specialRanges4)+len(specialRanges6), len(v4)+len(v6)+len(wantAdditions); got != want {
		t.Errorf("the guard's table has %d entries, want %d (registries plus additions)", got, want)
	}
	all := oracle(append(append([]registryEntry{}, v4...), v6...))
	policy := GuardPolicy{machine: noMachine()}
	open := GuardPolicy{AllowPrivate: true, machine: noMachine()}
	refusedCount, permittedCount := 0, 0
	for _, e := range all {
		for _, a := range samples(e.prefix) {
			t.Run(e.prefix.String()+" "+a.String(), func(t *testing.T) {
				t.Parallel()
				want := all.permits(a)
				what := policy.refusal(a)
				if got := what == ""; got != want {
					t.Fatalf("%s (%s, globally reachable %s): permitted = %v, want %v (%q)", a, e.name, e.reachable, got, want, what)
				}
				if what != "" && !strings.Contains(what, "/") {
					t.Errorf("refusal %q does not name the range", what)
				}
				if !open.Permits(a) {
					t.Errorf("AllowPrivate does not lift %s", a)
				}
				if !(GuardPolicy{AllowCIDRs: []netip.Prefix{e.prefix}, machine: noMachine()}).Permits(a) &&
					!a.Is4In6() { // a mapped address is judged as its IPv4 address, outside the mapped CIDR
					t.Errorf("AllowCIDRs %s does not lift %s", e.prefix, a)
				}
			})
			if all.permits(a) {
				permittedCount++
			} else {
				refusedCount++
			}
		}
	}
	// The walk must exercise both verdicts, or the oracle could be vacuous.
	if refusedCount == 0 || permittedCount == 0 {
		t.Errorf("%d samples refused, %d permitted: want both", refusedCount, permittedCount)
	}
}

// The ranges the special-purpose registries do not hold are refused too.
func TestAdditionsRefused(t *testing.T) {
	t.Parallel()
	policy := GuardPolicy{machine: noMachine()}
	for _, p := range wantAdditions {
		for _, a := range samples(p) {
			// A more specific registry entry (::/128 in ::/96) may name it.
			if what := policy.refusal(a); what == "" {
				t.Errorf("%s (in %s) is permitted", a, p)
			}
		}
	}
}

// Each decision names an entry that is still in the registries: a typo or
// a block IANA renumbered would otherwise silently decide nothing.
func TestDecisionsNameRegistryEntries(t *testing.T) {
	t.Parallel()
	blocks := map[netip.Prefix]bool{}
	for _, name := range ianaFiles {
		for _, e := range readRegistryFile(t, name) {
			blocks[e.prefix] = true
		}
	}
	for k, d := range decisions {
		if !blocks[k] {
			t.Errorf("decision %q is not a registry entry", k)
		}
		if d.verdict == judgeEmbedded && (d.embedded == nil || d.note == "") {
			t.Errorf("decision %q judges the embedded address without saying how", k)
		}
	}
	for k := range wantLocalAnycast {
		if d, ok := decisions[netip.MustParsePrefix(k)]; !ok || d.verdict != refused {
			t.Errorf("%s: want a decision refusing it", k)
		}
	}
}

func TestParseRegistry(t *testing.T) {
	t.Parallel()
	const header = "Address Block,Name,RFC,Allocation Date,Termination Date,Source,Destination,Forwardable,Globally Reachable,Reserved-by-Protocol\n"
	tests := []struct {
		name    string
		csv     string
		want    []string // "prefix verdict"
		wantErr string
	}{
		{name: "footnotes, two blocks in a cell, a line break in a quoted cell", csv: header +
			"192.0.0.0/24 [2],IETF Protocol Assignments,\"[RFC6890], Section 2.1\",2010-01,N/A,False,False,False,False,False\n" +
			"\"192.0.0.170/32, 192.0.0.171/32\",NAT64/DNS64 Discovery,\"[RFC8880][RFC7050], Section 2.2\",2013-02,N/A,False,False,False,False,True\n" +
			"255.255.255.255/32,Limited Broadcast,\"[RFC8190]\n        [RFC919], Section 7\",1984-10,N/A,False,True,False,False,True\n" +
			"2001::/23,IETF Protocol Assignments,[RFC2928],2000-09,N/A,False [1],False [1],False [1],False [1],False\n",
			want: []string{"192.0.0.0/24 1", "192.0.0.170/32 1", "192.0.0.171/32 1", "255.255.255.255/32 1", "2001::/23 1"}},
		{name: "true, N/A and a terminated entry", csv: header +
			"192.31.196.0/24,AS112-v4,[RFC7535],2014-12,N/A,True,True,True,True,False\n" +
			"2001:20::/28,ORCHIDv2,[RFC7343],2014-07,N/A,True,True,True,True,False\n" +
			"2002::/16 [3],6to4,[RFC3056],2001-02,N/A,True,True,True,N/A [3],False\n" +
			"192.88.99.0/24,Deprecated (6to4 Relay Anycast),[RFC7526],2001-06,2015-03,,,,,\n",
			// AS112 is refused by decision, 6to4 judged by decision.
			want: []string{"192.31.196.0/24 1", "2001:20::/28 0", "2002::/16 2", "192.88.99.0/24 1"}},
		{name: "unknown reachability", csv: header + "10.0.0.0/8,Private-Use,[RFC1918],1996-02,N/A,True,True,True,Maybe,False\n",
			wantErr: `Globally Reachable is "Maybe"`},
		{name: "empty reachability of a live entry", csv: header + "10.0.0.0/8,Private-Use,[RFC1918],1996-02,N/A,True,True,True,,False\n",
			wantErr: `Globally Reachable is ""`},
		{name: "host bits", csv: header + "10.0.0.1/8,Private-Use,[RFC1918],1996-02,N/A,True,True,True,False,False\n",
			wantErr: "not a CIDR"},
		{name: "missing column", csv: "Address Block,Name\n10.0.0.0/8,Private-Use\n", wantErr: `no "Termination Date" column`},
		{name: "no entries", csv: header, wantErr: "no entries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseRegistry([]byte(tc.csv))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, r := range got {
				s = append(s, r.prefix.String()+" "+string(rune('0'+int(r.verdict))))
			}
			if strings.Join(s, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("got %v, want %v", s, tc.want)
			}
		})
	}
}

func BenchmarkRefusal(b *testing.B) {
	policy := allow("10.20.0.0/16")
	addrs := []netip.Addr{
		netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:2800:220:1::1"),
		netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("64:ff9b::5db8:d822"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = policy.refusal(addrs[i%len(addrs)])
	}
}
