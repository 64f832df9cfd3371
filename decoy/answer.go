package decoy

import (
	"encoding/binary"
	"math/bits"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Answer returns the decoy for qname made from m, the backend's answer to
// the same question asked at template (which Template chose for qname):
// a copy of m whose records owned by template are owned by qname in lower
// case, as the backend writes a host's owner, and whose answer section's
// addresses are decoy addresses. The question is left as m has it, for the
// caller to set. m is not modified.
func (p *Profile) Answer(m *dns.Msg, template, qname string) *dns.Msg {
	out := m.Copy()
	name := strings.ToLower(qname)
	for _, sec := range [][]dns.RR{out.Answer, out.Ns, out.Extra} {
		for _, rr := range sec {
			if strings.EqualFold(rr.Header().Name, template) {
				rr.Header().Name = name
			}
		}
	}
	f := p.prfs.Get().(*prf)
	defer p.prfs.Put(f)
	var seen []netip.Addr // an RRset holds no record twice
	for i, rr := range out.Answer {
		if !strings.EqualFold(rr.Header().Name, name) {
			continue
		}
		switch a := rr.(type) {
		case *dns.A:
			a.A = p.unique(f, name, uint32(dns.TypeA)<<16|uint32(i), a.A, &seen)
		case *dns.AAAA:
			a.AAAA = p.unique(f, name, uint32(dns.TypeAAAA)<<16|uint32(i), a.AAAA, &seen)
		}
	}
	return out
}

// unique draws the decoy address of template address ip for name and
// index, drawing again (at most a few times) while it equals one already
// in seen.
func (p *Profile) unique(f *prf, name string, index uint32, ip net.IP, seen *[]netip.Addr) net.IP {
	orig, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ip
	}
	orig = orig.Unmap()
	var a netip.Addr
	for try := range uint32(8) {
		a = p.address(f.draw(purposeAddress, name, index+try<<8), orig)
		if !containsAddr(*seen, a) {
			break
		}
	}
	*seen = append(*seen, a)
	return net.IP(a.AsSlice())
}

func containsAddr(s []netip.Addr, a netip.Addr) bool {
	for _, b := range s {
		if a == b {
			return true
		}
	}
	return false
}

// address returns the decoy address drawn from r for template address
// orig: in orig's /24 or /64, or in one of the configured networks of its
// family. An IPv6 decoy's interface identifier has as many significant
// bits as orig's (at least 8): hosts numbered ::10 get decoys numbered
// like them.
func (p *Profile) address(r *[32]byte, orig netip.Addr) netip.Addr {
	pick := binary.BigEndian.Uint32(r[8:12])
	if orig.Is4() {
		if len(p.v4) > 0 {
			return fill4(p.v4[pick%uint32(len(p.v4))], binary.BigEndian.Uint32(r[:4]))
		}
		return fill4(netip.PrefixFrom(orig, 24), binary.BigEndian.Uint32(r[:4]))
	}
	b := orig.As16()
	width := max(bits.Len64(binary.BigEndian.Uint64(b[8:])), 8)
	n := netip.PrefixFrom(orig, 64)
	if len(p.v6) > 0 {
		n = p.v6[pick%uint32(len(p.v6))]
	}
	return fill6(n, binary.BigEndian.Uint64(r[16:24]), binary.BigEndian.Uint64(r[24:32]), width)
}

// fill4 returns the address of IPv4 network n whose host part is drawn
// from r: never the network's first or last address when it has more
// than two.
func fill4(n netip.Prefix, r uint32) netip.Addr {
	n = n.Masked()
	hostBits := 32 - n.Bits()
	if hostBits == 0 {
		return n.Addr()
	}
	b := n.Addr().As4()
	base := binary.BigEndian.Uint32(b[:])
	mask := uint32(1)<<hostBits - 1
	h := r & mask
	if hostBits >= 2 {
		h = max(min(h, mask-1), 1)
	}
	binary.BigEndian.PutUint32(b[:], base|h)
	return netip.AddrFrom4(b)
}

// fill6 returns an address of IPv6 network n whose host part, of at most
// width bits with the top one set, is drawn from hi and lo.
func fill6(n netip.Prefix, hi, lo uint64, width int) netip.Addr {
	n = n.Masked()
	hostBits := min(128-n.Bits(), width)
	if hostBits == 0 {
		return n.Addr()
	}
	b := n.Addr().As16()
	top := binary.BigEndian.Uint64(b[:8])
	bottom := binary.BigEndian.Uint64(b[8:])
	if hostBits <= 64 {
		v := lo & (^uint64(0) >> (64 - hostBits))
		bottom |= v | 1<<(hostBits-1)
	} else {
		bottom |= lo
		top |= hi&(^uint64(0)>>(128-hostBits)) | 1<<(hostBits-65)
	}
	binary.BigEndian.PutUint64(b[:8], top)
	binary.BigEndian.PutUint64(b[8:], bottom)
	return netip.AddrFrom16(b)
}
