// Package tokenstest is the oracle the token rewrite is tested against: what
// an answer with verification tokens hidden must look like, reasoned from
// the RFCs and the vendors' documents, never from package tokens' matcher.
// Package tokens' FuzzRewrite and veil's FuzzHandler both check with it, so
// the policy is stated once.
package tokenstest

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// The oracle of FuzzRewrite: what a rewritten response must look like,
// reasoned from README.md, the RFCs and the vendors' documents, never from
// the matcher. CheckFiltered holds for any policy; under the fuzzer's
// policy that hides every token it can (hide all, pattern .*), CheckHidden
// adds that no TXT record stays but those MayStayPublic allows.

// CheckFiltered checks out, what an external client got for question q,
// against in, the backend's answer before the rewrite. soa is the SOA
// record (in presentation form) the rewrite may put in the authority
// section of an answer it turned negative, "" for any SOA. It returns ""
// or what is wrong:
//
//   - out holds no record that in does not (but that SOA);
//   - unless the server truncated out (TC) for the transport, every
//     non-TXT record, every TXT record MustStayPublic says must stay, and
//     every TXT record of an RRset signed in its section is still in its
//     section;
//   - the exception: when the question lost its answer, the response is
//     the backend's NODATA for the name: an authority section of the SOA
//     or, after a CNAME chain, the zone's NS records (the file plugin's
//     shape), and an additional section of the OPT record and addresses
//     only; where the answer is no well-formed CNAME chain (Answered),
//     only the answer section is checked.
func CheckFiltered(in, out *dns.Msg, q dns.Question, soa string) string {
	if msg := checkAdded(in, out, soa); msg != "" {
		return msg
	}
	if out.Truncated && !in.Truncated {
		return ""
	}
	inAns, ambiguous := Answered(in, q)
	outAns, _ := Answered(out, q)
	reshaped := inAns && !outAns && !ambiguous
	if !reshaped && !ambiguous && out.Rcode != in.Rcode {
		return fmt.Sprintf("rcode %s, backend %s, but the question did not lose its answer", dns.RcodeToString[out.Rcode], dns.RcodeToString[in.Rcode])
	}
	for si, secs := range [][2][]dns.RR{{in.Answer, out.Answer}, {in.Ns, out.Ns}, {in.Extra, out.Extra}} {
		if si > 0 && (reshaped || ambiguous) {
			continue
		}
		if msg := checkKept(si, secs[0], secs[1]); msg != "" {
			return msg
		}
	}
	if reshaped {
		for _, rr := range out.Ns {
			if t := rr.Header().Rrtype; t != dns.TypeNS && (t != dns.TypeSOA || len(out.Ns) > 1) {
				return "a negative answer's authority section holds more than the SOA or the NS records"
			}
		}
		for _, rr := range out.Extra {
			if t := rr.Header().Rrtype; t != dns.TypeOPT && t != dns.TypeA && t != dns.TypeAAAA {
				return "a negative answer's additional section holds more than the OPT record and addresses"
			}
		}
	}
	return ""
}

// checkAdded checks that out holds no record that in does not, but the SOA
// soa ("" for any) in the authority section and the OPT record.
func checkAdded(in, out *dns.Msg, soa string) string {
	left := map[string]int{}
	for _, sec := range [][]dns.RR{in.Answer, in.Ns, in.Extra} {
		for _, rr := range sec {
			left[rr.String()]++
		}
	}
	for si, sec := range [][]dns.RR{out.Answer, out.Ns, out.Extra} {
		for _, rr := range sec {
			key := rr.String()
			if left[key] > 0 {
				left[key]--
				continue
			}
			if si == 1 && rr.Header().Rrtype == dns.TypeSOA && (soa == "" || key == soa) {
				continue
			}
			if rr.Header().Rrtype == dns.TypeOPT {
				continue // the OPT record is the server's, sized per transport
			}
			return fmt.Sprintf("section %d holds a record the backend did not send: %s", si, key)
		}
	}
	return ""
}

// checkKept checks that section si of the output, out, still holds every
// non-TXT record, every TXT record that must stay public and every record
// of a TXT RRset signed in the section of the backend's answer, in.
func checkKept(si int, in, out []dns.RR) string {
	have := map[string]int{}
	for _, rr := range out {
		have[rr.String()]++
	}
	for _, rr := range in {
		txt, isTXT := rr.(*dns.TXT)
		why := ""
		switch {
		case rr.Header().Rrtype == dns.TypeOPT:
			continue
		case !isTXT:
			why = "non-TXT record"
		case MustStayPublic(txt.Hdr.Name, txt.Txt):
			why = "record that must stay public"
		case SignedTXT(in, txt.Hdr.Name):
			why = "record of a signed TXT RRset"
		default:
			continue
		}
		key := rr.String()
		if have[key] == 0 {
			return fmt.Sprintf("section %d lost a %s: %s", si, why, key)
		}
		have[key]--
	}
	return ""
}

// Answered reports whether the answer section of m answers q: it
// holds a record of q's type (any type but CNAME for ANY) at the end of
// the CNAME chain from the question name. ambiguous is set when the answer
// is not a well-formed chain (a CNAME next to other data, two CNAMEs at
// one name, a loop), where what "answers" means is a matter of opinion.
func Answered(m *dns.Msg, q dns.Question) (answered, ambiguous bool) {
	target, ambiguous := ChainTarget(m, q)
	for _, rr := range m.Answer {
		h := rr.Header()
		if strings.EqualFold(h.Name, target) && (h.Rrtype == q.Qtype || (q.Qtype == dns.TypeANY && h.Rrtype != dns.TypeCNAME)) {
			return true, ambiguous
		}
	}
	return false, ambiguous
}

// ChainTarget returns the end of the CNAME chain from q's name through the
// answer section of m, and whether the chain is ambiguous (see
// Answered).
func ChainTarget(m *dns.Msg, q dns.Question) (target string, ambiguous bool) {
	cnames := map[string]string{}
	other := map[string]bool{}
	for _, rr := range m.Answer {
		name := strings.ToLower(rr.Header().Name)
		if c, ok := rr.(*dns.CNAME); ok {
			if _, dup := cnames[name]; dup {
				ambiguous = true
			}
			cnames[name] = c.Target
		} else {
			other[name] = true
		}
	}
	for name := range cnames {
		if other[name] {
			ambiguous = true
		}
	}
	target = q.Name
	for range len(m.Answer) + 1 {
		next, ok := cnames[strings.ToLower(target)]
		if !ok {
			break
		}
		target = next
	}
	if _, ok := cnames[strings.ToLower(target)]; ok {
		ambiguous = true // a loop
	}
	return target, ambiguous
}

// SignedTXT reports whether sec holds an RRSIG over owner's TXT RRset.
func SignedTXT(sec []dns.RR, owner string) bool {
	for _, rr := range sec {
		if s, ok := rr.(*dns.RRSIG); ok && s.TypeCovered == dns.TypeTXT && strings.EqualFold(s.Hdr.Name, owner) {
			return true
		}
	}
	return false
}

// CheckHidden checks out, the rewrite of in under a policy that hides
// every token, for TXT records that should have gone: every TXT record of
// out must be one MayStayPublic allows or one of an RRset signed in its
// section of in. MayStayPublic judges by the value's shape, a label alone
// never keeping a record, and never allows one IsToken calls a token: so
// a token is hidden wherever it stands, at _acme-challenge or _dmarc under
// a wildcard too, unless its RRset is signed. It returns "" or what is
// wrong.
func CheckHidden(in, out *dns.Msg) string {
	inSecs := [3][]dns.RR{in.Answer, in.Ns, in.Extra}
	where := map[dns.RR]int{}
	for si, sec := range inSecs {
		for _, rr := range sec {
			where[rr] = si
		}
	}
	for _, sec := range [3][]dns.RR{out.Answer, out.Ns, out.Extra} {
		for _, rr := range sec {
			txt, ok := rr.(*dns.TXT)
			if !ok || MayStayPublic(txt.Hdr.Name, txt.Txt) {
				continue
			}
			si, ok := where[rr]
			if !ok {
				return fmt.Sprintf("a TXT record that is not the backend's: %s", rr)
			}
			if !SignedTXT(inSecs[si], txt.Hdr.Name) {
				return fmt.Sprintf("a token that should be hidden is still in section %d: %s", si, rr)
			}
		}
	}
	return ""
}
