package httpx

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

func TestParseLegacyIPv4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // "" = not an inet_aton address
	}{
		{"decimal", "2130706433", "127.0.0.1"},
		{"hex", "0x7f000001", "127.0.0.1"},
		{"upper hex", "0X7F000001", "127.0.0.1"},
		{"octal first part", "0177.0.0.1", "127.0.0.1"},
		{"short two parts", "127.1", "127.0.0.1"},
		{"short three parts", "169.254.43518", "169.254.169.254"},
		{"mixed bases", "0xa9.0376.0xa9fe", "169.254.169.254"},
		{"zero padded", "127.000.000.001", "127.0.0.1"},
		{"octal reads as octal", "010.0.0.1", "8.0.0.1"},
		{"trailing dot", "127.0.0.1.", "127.0.0.1"},
		{"single zero", "0", "0.0.0.0"},
		{"part too big", "256.0.0.1", ""},
		{"last part too big", "1.2.65536", ""},
		{"decimal too big", "4294967296", ""},
		{"five parts", "1.2.3.4.5", ""},
		{"empty part", "1..2", ""},
		{"bad octal digit", "08.0.0.1", ""},
		{"bare 0x", "0x", ""},
		{"hostname", "example.com", ""},
		{"hex without prefix", "deadbeef", ""},
		{"signed", "+1.2.3.4", ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseLegacyIPv4(tc.in)
			switch {
			case tc.want == "" && ok:
				t.Errorf("parseLegacyIPv4(%q) = %s, want no address", tc.in, got)
			case tc.want != "" && (!ok || got.String() != tc.want):
				t.Errorf("parseLegacyIPv4(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
			}
		})
	}
}

func TestGuardPolicyPermits(t *testing.T) {
	t.Parallel()
	deny := GuardPolicy{}
	open := GuardPolicy{AllowPrivate: true}
	registry := allow("10.20.0.0/16", "::ffff:127.0.0.2/128")
	tests := []struct {
		name   string
		policy GuardPolicy
		addr   string
		want   bool
	}{
		{"public v4", deny, "93.184.216.34", true},
		{"public v6", deny, "2606:2800:220:1::1", true},
		{"loopback", deny, "127.0.0.1", false},
		{"loopback range", deny, "127.255.0.9", false},
		{"v6 loopback", deny, "::1", false},
		{"metadata", deny, "169.254.169.254", false},
		{"aws v6 metadata", deny, "fd00:ec2::254", false},
		{"rfc1918 10", deny, "10.1.2.3", false},
		{"rfc1918 172.16", deny, "172.16.0.1", false},
		{"rfc1918 172.31", deny, "172.31.255.255", false},
		{"172.32 is public", deny, "172.32.0.1", true},
		{"rfc1918 192.168", deny, "192.168.1.1", false},
		{"cgnat", deny, "100.64.0.1", false},
		{"cgnat end", deny, "100.127.255.255", false},
		{"100.128 is public", deny, "100.128.0.1", true},
		{"unspecified v4", deny, "0.0.0.0", false},
		{"unspecified v6", deny, "::", false},
		{"multicast v4", deny, "224.0.0.1", false},
		{"multicast v6", deny, "ff02::1", false},
		{"broadcast", deny, "255.255.255.255", false},
		{"ula", deny, "fc00::1", false},
		{"v6 link-local", deny, "fe80::1", false},
		{"v6 link-local with zone", deny, "fe80::1%eth0", false},
		{"mapped loopback", deny, "::ffff:127.0.0.1", false},
		{"mapped metadata", deny, "::ffff:169.254.169.254", false},
		{"mapped public", deny, "::ffff:93.184.216.34", true},
		{"ipv4-compatible loopback", deny, "::127.0.0.1", false},
		{"nat64 of loopback", deny, "64:ff9b::7f00:1", false},
		{"nat64 of public", deny, "64:ff9b::5db8:d822", true},
		{"6to4 of private", deny, "2002:0a00:0001::1", false},
		// IANA special-purpose ranges the guard used to miss.
		{"benchmarking", deny, "198.18.0.1", false},
		{"benchmarking end", deny, "198.19.255.255", false},
		{"198.20 is public", deny, "198.20.0.1", true},
		{"ietf protocol assignments", deny, "192.0.0.200", false},
		{"dummy address", deny, "192.0.0.8", false},
		{"pcp anycast answered locally", deny, "192.0.0.9", false},
		{"test-net-1", deny, "192.0.2.1", false},
		{"test-net-2", deny, "198.51.100.200", false},
		{"test-net-3", deny, "203.0.113.255", false},
		{"deprecated 6to4 relay anycast", deny, "192.88.99.1", false},
		{"as112 anycast answered locally", deny, "192.175.48.6", false},
		{"v6 documentation", deny, "2001:db8::1", false},
		{"v6 documentation 3fff::/20", deny, "3fff:fff::1", false},
		{"v6 discard-only", deny, "100::1", false},
		{"v6 dummy prefix", deny, "100:0:0:1::1", false},
		{"v6 benchmarking", deny, "2001:2::1", false},
		{"ietf protocol assignments v6", deny, "2001:1ff::1", false},
		{"srv6 sids", deny, "5f00::1", false},
		{"orchidv2 stays reachable", deny, "2001:20::1", true},
		{"v6 multicast site", deny, "ff05::1:3", false},
		{"multicast ssdp", deny, "239.255.255.250", false},
		{"site-local", deny, "fec0::1", false},
		{"nat64 local-use of public", deny, "64:ff9b:1::808:808", false},
		{"nat64 local-use of loopback", deny, "64:ff9b:1::7f00:1", false},
		{"nat64 of test-net", deny, "64:ff9b::c000:201", false},
		{"6to4 of public", deny, "2002:808:808::1", true},
		{"6to4 of loopback", deny, "2002:7f00:1::1", false},
		{"6to4 of test-net", deny, "2002:c000:201::1", false},
		{"6to4 of benchmarking", deny, "2002:c612:1::1", false},
		{"teredo of public server and client", deny, "2001:0:4136:e378:8000:63bf:f7f7:f7f7", true},
		{"teredo of loopback client", deny, "2001:0:4136:e378:8000:63bf:80ff:fffe", false},
		{"teredo of private client", deny, "2001:0:4136:e378:8000:63bf:f5ff:fffe", false},
		{"teredo of metadata server", deny, "2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7", false},
		{"allow private: documentation", open, "192.0.2.1", true},
		{"allow private: benchmarking", open, "198.18.0.1", true},
		{"allow private: nat64 local-use", open, "64:ff9b:1::808:808", true},
		{"allowed cidr: benchmarking", allow("198.18.0.0/15"), "198.18.7.7", true},
		{"allowed cidr: 6to4 of an allowed address", allow("10.0.0.0/8"), "2002:a00:1::1", true},
		{"allowed cidr: teredo client only", allow("10.0.0.0/8"), "2001:0:4136:e378:8000:63bf:f5ff:fffe", true},
		{"allow private: loopback", open, "127.0.0.1", true},
		{"allow private: metadata", open, "169.254.169.254", true},
		{"allow private: mapped", open, "::ffff:10.0.0.1", true},
		{"allowed cidr", registry, "10.20.3.4", true},
		{"allowed cidr, mapped address", registry, "::ffff:10.20.3.4", true},
		{"outside allowed cidr", registry, "10.21.0.1", false},
		{"mapped allowed prefix", registry, "127.0.0.2", true},
		{"loopback not listed", registry, "127.0.0.1", false},
		{"metadata not listed", registry, "169.254.169.254", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.policy.Permits(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("Permits(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func TestParseGuardPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		allowPrivate string
		cidrs        string
		want         GuardPolicy
		wantErr      string // substring; "" = no error
	}{
		{name: "unset", want: GuardPolicy{}},
		{name: "allow private", allowPrivate: "true", want: GuardPolicy{AllowPrivate: true}},
		{name: "allow private 1", allowPrivate: " 1 ", want: GuardPolicy{AllowPrivate: true}},
		{name: "deny private", allowPrivate: "false", want: GuardPolicy{}},
		{name: "cidrs with spaces and empties", cidrs: " 10.0.0.0/8 , ,fd00::/8,",
			want: allow("10.0.0.0/8", "fd00::/8")},
		{name: "bare addresses", cidrs: "192.168.1.10,::1",
			want: allow("192.168.1.10/32", "::1/128")},
		{name: "mapped cidr is unmapped", cidrs: "::ffff:10.0.0.0/104", want: allow("10.0.0.0/8")},
		{name: "bad boolean", allowPrivate: "maybe", wantErr: `allow-private setting "maybe" is not a boolean`},
		{name: "bad cidr", cidrs: "10.0.0.0/8,10.0.0.0/33", wantErr: `allowed CIDR "10.0.0.0/33" is not a valid CIDR`},
		{name: "not an address", cidrs: "registry.local", wantErr: `allowed CIDR "registry.local" is neither`},
		{name: "host bits set", cidrs: "10.0.0.1/8", wantErr: "did you mean 10.0.0.0/8?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseGuardPolicy(tc.allowPrivate, tc.cidrs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if code := resilience.CodeOf(err); code != resilience.InvalidConfig {
					t.Errorf("code = %s, want INVALID_CONFIG", code)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.AllowPrivate != tc.want.AllowPrivate || len(got.AllowCIDRs) != len(tc.want.AllowCIDRs) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got.AllowCIDRs {
				if got.AllowCIDRs[i] != tc.want.AllowCIDRs[i] {
					t.Errorf("AllowCIDRs[%d] = %s, want %s", i, got.AllowCIDRs[i], tc.want.AllowCIDRs[i])
				}
			}
		})
	}
}
