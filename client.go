package veil

import (
	"net"
	"net/netip"
)

// clientAddr returns the source address CoreDNS reports for the request,
// without port or IPv6 zone, IPv4-mapped IPv6 addresses turned into IPv4.
// With the proxyproto plugin configured this is the address from the PROXY
// header. For the UDP and TCP writers of miekg/dns it does not allocate.
func clientAddr(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	case nil:
		return netip.Addr{}, false
	default:
		// Other transports (DoH, DoQ, gRPC) may report other address types;
		// parse their string form. An address veil cannot read is external.
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		return ap.Addr().WithZone("").Unmap(), true
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// isStream reports whether the request came over a stream transport (TCP,
// DoT, DoH), where the source address cannot be spoofed and response size is
// not limited by a datagram.
func isStream(a net.Addr) bool {
	_, udp := a.(*net.UDPAddr)
	return !udp
}
