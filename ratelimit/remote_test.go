package ratelimit

import (
	"net/netip"
	"testing"
)

// With testConfig (rate 10, burst 5) a /32's level drains 2.56 level units
// a millisecond: one denial (256 units) in 100 ms.

func TestChargeRemoteDenials(t *testing.T) {
	tests := []struct {
		name     string
		n        uint32
		over     bool
		until    int64 // blocked from 1000 to until-1; zero: never
		blockTie Tier
	}{
		{"burst", 5, false, 0, NoTier},
		{"burst+1", 6, true, 1100, TierV4Host},
		{"burst+3", 8, true, 1300, TierV4Host},
		{"none", 0, false, 0, NoTier},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, testConfig())
			k := key("192.0.2.1")
			if got := l.ChargeRemote(k, ChargeDenial, tc.n, 1000); got != tc.over {
				t.Errorf("ChargeRemote = %v, want %v", got, tc.over)
			}
			if tc.until == 0 {
				if b, tier := l.Blocked(k, 1000); b {
					t.Errorf("blocked (%v) at or under the burst", tier)
				}
				return
			}
			if !l.AnyBlocked(tc.until - 1) {
				t.Error("AnyBlocked false: the horizon does not cover the charge")
			}
			if b, tier := l.Blocked(k, tc.until-1); !b || tier != tc.blockTie {
				t.Errorf("Blocked at %d = %v, %v; want true, %v", tc.until-1, b, tier, tc.blockTie)
			}
			if b, _ := l.Blocked(k, tc.until); b {
				t.Errorf("still blocked at %d, when the level is back at the burst", tc.until)
			}
			if b, _ := l.Blocked(key("192.0.2.2"), 1000); b {
				t.Error("a neighbour of the /32 is blocked")
			}
		})
	}
}

func TestChargeRemoteNeverTrips(t *testing.T) {
	l := newLimiter(t, testConfig())
	k := key("192.0.2.1")
	l.ChargeRemote(k, ChargeDenial, 6, 1000)
	// Over its burst, the key is blocked and a local denial does not trip
	// it again: the replica that saw the queries trips and publishes.
	if r := l.Observe(k, true, 1001); r.Tripped != NoTier {
		t.Errorf("local denial after a remote charge tripped %v", r.Tripped)
	}
	// Not blocked to the block level: it drains like the charges.
	if b, _ := l.Blocked(k, 1000+l.blockMs/2); b {
		t.Error("a remote charge blocked the key for the block time")
	}
}

func TestChargeRemoteStub(t *testing.T) {
	cfg := testConfig()
	cfg.StubRate, cfg.StubBurst = 1, 4
	l := newLimiter(t, cfg)
	k := key("192.0.2.1")
	if l.ChargeRemote(k, ChargeStub, 4, 1000) {
		t.Error("4 stub answers over a stub burst of 4")
	}
	if !l.ChargeRemote(k, ChargeStub, 1, 1000) {
		t.Error("5 stub answers not over a stub burst of 4")
	}
	if b, tier := l.Blocked(k, 1000); b {
		t.Errorf("a stub ChargeRemote blocked %v", tier)
	}
	var p Probe
	l.Probe(k, &p)
	if r := l.ObserveStub(&p, 1000); r.Tripped != TierV4Host || r.Rule != RuleStub {
		t.Errorf("ObserveStub after remote stub charges = %+v, want a trip of %v", r, TierV4Host)
	}
	if b, _ := l.Blocked(k, 1000); !b {
		t.Error("not blocked after the stub trip")
	}

	// With the stub budget off, a stub charge does nothing.
	l = newLimiter(t, testConfig())
	if l.ChargeRemote(k, ChargeStub, 1000, 1000) {
		t.Error("stub charge over the burst with the stub budget off")
	}
	if l.ChargeRemote(k, NumCharges, 1000, 1000) {
		t.Error("ChargeRemote of NumCharges = true")
	}
	if b, _ := l.Blocked(k, 1000); b {
		t.Error("blocked by a stub charge with the stub budget off")
	}
}

func TestInstall(t *testing.T) {
	const now, remaining = 5000, 10000
	tests := []struct {
		name    string
		addr    string
		tier    Tier
		blocked []string // blocked from now to now+remaining-1
		free    []string // never blocked
	}{
		{"v4 /24", "192.0.2.7", TierV4Net, []string{"192.0.2.7", "192.0.2.200"}, []string{"192.0.3.7"}},
		{"v4 /32", "192.0.2.7", TierV4Host, []string{"192.0.2.7"}, []string{"192.0.2.8"}},
		{"v6 /64", "2001:db8:0:1::1", TierV6Net, []string{"2001:db8:0:1::ff"}, []string{"2001:db8:0:2::1"}},
		{"v6 /56", "2001:db8:0:1::1", TierV6Site, []string{"2001:db8:0:ff::1"}, []string{"2001:db8:0:100::1"}},
		{"v6 /48", "2001:db8:0:1::1", TierV6Org, []string{"2001:db8:0:ff00::1"}, []string{"2001:db8:1::1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, testConfig())
			if !l.Install(key(tc.addr), tc.tier, remaining, now) {
				t.Fatal("Install = false")
			}
			for _, a := range tc.blocked {
				for _, at := range []int64{now, now + remaining - 1000, now + remaining - 1} {
					if b, tier := l.Blocked(key(a), at); !b || tier != tc.tier {
						t.Errorf("%s at %d: Blocked = %v, %v; want true, %v", a, at, b, tier, tc.tier)
					}
				}
				// The level is back at the burst when remaining has passed.
				if b, tier := l.Blocked(key(a), now+remaining); b {
					t.Errorf("%s still blocked (%v) at now+remaining", a, tier)
				}
			}
			for _, a := range tc.free {
				if b, tier := l.Blocked(key(a), now); b {
					t.Errorf("%s blocked (%v) by an install of %v", a, tier, tc.tier)
				}
			}
		})
	}
}

func TestInstallRefused(t *testing.T) {
	l := newLimiter(t, testConfig())
	tests := []struct {
		addr      string
		tier      Tier
		remaining int64
	}{
		{"192.0.2.1", TierV6Net, 1000},
		{"2001:db8::1", TierV4Net, 1000},
		{"192.0.2.1", NoTier, 1000},
		{"192.0.2.1", TierV4Host, 0},
		{"192.0.2.1", TierV4Host, -5},
	}
	if l.Install(Key{}, TierV6Net, 1000, 1000) || l.ChargeRemote(Key{}, ChargeDenial, 1000, 1000) {
		t.Error("Install or ChargeRemote of the zero Addr = true")
	}
	for _, tc := range tests {
		if l.Install(key(tc.addr), tc.tier, tc.remaining, 1000) {
			t.Errorf("Install(%s, %v, %d) = true", tc.addr, tc.tier, tc.remaining)
		}
		if b, _ := l.Blocked(key(tc.addr), 1000); b {
			t.Errorf("a refused Install(%s, %v) blocked", tc.addr, tc.tier)
		}
	}
}

func TestInstallCapsAndNeverLowers(t *testing.T) {
	l := newLimiter(t, testConfig())
	k := key("192.0.2.1")
	// Capped at the block time (60 s).
	l.Install(k, TierV4Host, 10*l.blockMs, 1000)
	if b, _ := l.Blocked(k, 1000+l.blockMs-1); !b {
		t.Error("not blocked for the block time")
	}
	if b, _ := l.Blocked(k, 1000+l.blockMs); b {
		t.Error("blocked past the block time")
	}

	// A local trip's block is not shortened by a shorter install.
	l = newLimiter(t, testConfig())
	if r := deny(l, k, 6, 1000); r.Tripped != TierV4Host {
		t.Fatalf("no trip: %+v", r)
	}
	l.Install(k, TierV4Host, 1000, 1000)
	if b, _ := l.Blocked(k, 1000+l.blockMs/2); !b {
		t.Error("a short Install lowered a block")
	}
}

func TestTierPrefix(t *testing.T) {
	tests := []struct {
		addr string
		tier Tier
		want string // "" for false
	}{
		{"192.0.2.77", TierV4Host, "192.0.2.77/32"},
		{"192.0.2.77", TierV4Net, "192.0.2.0/24"},
		{"192.0.2.77", TierV6Net, ""},
		{"2001:db8:1:2:3::1", TierV6Net, "2001:db8:1:2::/64"},
		{"2001:db8:1:2ff:3::1", TierV6Site, "2001:db8:1:200::/56"},
		{"2001:db8:1:2ff:3::1", TierV6Org, "2001:db8:1::/48"},
		{"fe80::1%eth0", TierV6Net, "fe80::/64"},
		{"2001:db8::1", TierV4Host, ""},
		{"2001:db8::1", NoTier, ""},
	}
	for _, tc := range tests {
		pfx, ok := TierPrefix(netip.MustParseAddr(tc.addr), tc.tier)
		got := ""
		if ok {
			got = pfx.String()
		}
		if got != tc.want {
			t.Errorf("TierPrefix(%s, %v) = %q, want %q", tc.addr, tc.tier, got, tc.want)
		}
	}
	if _, ok := TierPrefix(netip.Addr{}, TierV4Host); ok {
		t.Error("TierPrefix of the zero Addr = true")
	}
	if ClientTier(netip.MustParseAddr("192.0.2.1")) != TierV4Host || ClientTier(netip.MustParseAddr("::1")) != TierV6Net {
		t.Error("ClientTier wrong")
	}
	for tier := range NoTier + 1 {
		if want := tier == TierV4Host || tier == TierV4Net; tier.Is4() != want {
			t.Errorf("%v.Is4() = %v", tier, !want)
		}
	}
}

func TestRemoteAllocs(t *testing.T) {
	l := newLimiter(t, testConfig())
	k := key("2001:db8::1")
	var now int64 = 1000
	if n := testing.AllocsPerRun(100, func() {
		now++
		l.ChargeRemote(k, ChargeDenial, 1, now)
		l.ChargeRemote(k, ChargeStub, 1, now)
		l.Install(k, TierV6Org, 1000, now)
	}); n != 0 {
		t.Errorf("ChargeRemote and Install allocate %v times", n)
	}
}
