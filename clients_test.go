package veil

import (
	"net"
	"net/netip"
	"testing"
)

type otherAddr string

func (a otherAddr) Network() string { return "other" }
func (a otherAddr) String() string  { return string(a) }

func TestClientAddr(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want string // "" for not readable
	}{
		{"udp v4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 53}, "192.0.2.1"},
		{"tcp v6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 53}, "2001:db8::1"},
		{"udp v4-mapped", &net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 53}, "192.0.2.1"},
		{"tcp link-local with zone", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 53, Zone: "eth0"}, "fe80::1"},
		{"other transport", otherAddr("[2001:db8::2%eth0]:443"), "2001:db8::2"},
		{"other transport v4", otherAddr("198.51.100.1:443"), "198.51.100.1"},
		{"unreadable", otherAddr("somewhere"), ""},
		{"empty IP", &net.UDPAddr{}, ""},
		{"nil", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := clientAddr(tc.addr)
			if tc.want == "" {
				if ok {
					t.Fatalf("clientAddr = %v, want not readable", got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tc.want) {
				t.Fatalf("clientAddr = %v %v, want %s", got, ok, tc.want)
			}
		})
	}
}

// A netSet holds the addresses of its networks and no others; a mapped
// IPv4 address is not IPv4 (callers Unmap first), and the zero address is
// in no network.
func TestNetSetTags(t *testing.T) {
	ns := newNetSet([]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")})
	for addr, want := range map[string]bool{
		"192.0.2.255":      true,
		"192.0.3.0":        false,
		"2001:db8:ffff::1": true,
		"2001:db9::1":      false,
		"::ffff:192.0.2.1": false,
	} {
		if got := ns.tags(netip.MustParseAddr(addr)) != 0; got != want {
			t.Errorf("tags(%s) != 0 is %v, want %v", addr, got, want)
		}
	}
	if ns.tags(netip.Addr{}) != 0 {
		t.Error("the zero address must not be trusted")
	}
}

// contains is the reference netSet is checked against: netip.Prefix.Contains.
func contains(ps []netip.Prefix, addr netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func TestClientAddrDoesNotAllocate(t *testing.T) {
	udp := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 53}
	tcp := &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 53}
	if n := testing.AllocsPerRun(100, func() { clientAddr(udp); clientAddr(tcp) }); n != 0 {
		t.Errorf("clientAddr allocates %v times per call", n)
	}
}

// An address veil cannot read is treated as external: a trusted list of
// 0.0.0.0/0 and ::/0 still does not trust it.
func TestUnreadableClientIsExternal(t *testing.T) {
	_, ok := clientAddr(otherAddr("not-an-address"))
	if ok {
		t.Fatal("unreadable address reported as readable")
	}
}

// netSet agrees with netip.Prefix.Contains on every kind of address and
// prefix length.
func TestNetSetMatchesPrefixContains(t *testing.T) {
	ps := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("198.51.100.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("2001:db8:1:2:3:4:5:6/128"), netip.MustParsePrefix("fd00::/72"),
	}
	all := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	addrs := []string{"192.0.2.1", "192.0.3.1", "10.255.255.255", "11.0.0.0", "198.51.100.7", "198.51.100.8",
		"2001:db8::1", "2001:db9::1", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:7", "fd00::1", "fd00:0:0:0:ff00::1", "fd00:0:0:0:0080::1", "::1", "0.0.0.0"}
	for _, set := range [][]netip.Prefix{ps, all, nil} {
		ns := newNetSet(set)
		for _, a := range addrs {
			addr := netip.MustParseAddr(a)
			if got, want := ns.tags(addr) != 0, contains(set, addr); got != want {
				t.Errorf("%v contains %s: netSet %v, Prefix.Contains %v", set, a, got, want)
			}
		}
	}
	// Two sets in one netSet, as trusted and exempt are compiled: each
	// address gets the tag of every set that holds it.
	second := []netip.Prefix{netip.MustParsePrefix("192.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	tagged := newNetSet(ps, second)
	for _, a := range addrs {
		addr := netip.MustParseAddr(a)
		var want uint8
		if contains(ps, addr) {
			want |= 1
		}
		if contains(second, addr) {
			want |= 2
		}
		if got := tagged.tags(addr); got != want {
			t.Errorf("tags(%s) = %b, want %b", a, got, want)
		}
	}
}
