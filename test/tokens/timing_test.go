package tokens

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// timingSamples is how many answers of each of two questions a timing
// comparison times.
const timingSamples = 3000

// timingPairs are the questions whose answers must take as long as each
// other: a question at a name that holds hidden tokens against the same
// question where the zone holds nothing to hide.
var timingPairs = []struct {
	name           string
	hidden, public string
	qtype          uint16
}{
	// TXT at a host whose only TXT record is a token, and at a host
	// without TXT: NODATA both.
	{"txt-host-with-token", "mixa.absent.test.", "www.absent.test.", dns.TypeTXT},
	// A name that holds nothing but a token, and one that holds nothing:
	// NXDOMAIN both.
	{"a-token-only", "h1.absent.test.", "nothing-here.absent.test.", dns.TypeA},
	{"txt-token-only", "h1.absent.test.", "nothing-here.absent.test.", dns.TypeTXT},
}

// timingVeil is veil as it runs by default, the limiter watching every
// answer, with limits no timing run reaches.
const timingVeil = "veil {\n trusted 127.0.0.1/32\n limit {\n rate 30000\n burst 30000\n block 1s\n }\n }"

// BenchmarkTimingTell times, for each of timingPairs, timingSamples
// answers of each question, interleaved in random order, from an external
// client over UDP to a server with veil (the limiter on, with limits the
// run does not reach), with and without cache, and reports the medians'
// difference and the Mann-Whitney z of the two samples (|z| under 3: the
// times do not tell the names apart at this many samples). It reports;
// it does not judge.
//
//	go test -run '^$' -bench TimingTell -benchtime 1x ./test/tokens/
func BenchmarkTimingTell(b *testing.B) {
	for _, cache := range []string{"", "cache"} {
		s := absentServer(b, timingVeil, cache, "", "{testdata}/absent.zone")
		for _, p := range timingPairs {
			b.Run(fmt.Sprintf("%s/cache=%v", p.name, cache != ""), func(b *testing.B) {
				for b.Loop() {
					hidden, public := timePair(b, s.Addr, p.hidden, p.public, p.qtype)
					dh, dp := harness.Median(hidden), harness.Median(public)
					b.ReportMetric(float64(dh-dp)/1e3, "µs-median-diff")
					b.ReportMetric(harness.MannWhitneyZ(hidden, public), "z")
					b.ReportMetric(float64(dp)/1e3, "µs-public")
				}
			})
		}
	}
}

// timePair asks hidden and public timingSamples times each, in random
// order, on one UDP socket, and returns the round trips in nanoseconds.
func timePair(b *testing.B, addr, hidden, public string, qtype uint16) (th, tp []int64) {
	b.Helper()
	c := harness.Client("udp", harness.ExternalIP)
	conn, err := c.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ask := func(name string) int64 {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.SetEdns0(1232, false)
		start := time.Now()
		if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
			b.Fatal(err)
		}
		return time.Since(start).Nanoseconds()
	}
	// A warm-up, so caches and pools are full.
	for range 200 {
		ask(hidden)
		ask(public)
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for range timingSamples {
		if rng.IntN(2) == 0 {
			th = append(th, ask(hidden))
			tp = append(tp, ask(public))
		} else {
			tp = append(tp, ask(public))
			th = append(th, ask(hidden))
		}
	}
	return th, tp
}
