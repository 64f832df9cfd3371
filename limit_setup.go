package veil

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"

	"github.com/veildns/veil/ratelimit"
)

// The rate, burst and stub burst of a limit block that says respond block
// and sets none of them (docs/operations.md, Why these defaults).
const (
	blockRate      = 15
	blockBurst     = 100
	blockStubBurst = 4
)

const (
	allowedLimitOptions = "rate, burst, ratio, stub, block, slip, table, exempt, respond, decoy, canary, cluster"
)

// defaultLimit returns the limiter's settings without a limit block: its
// defaults, a flagged prefix gets decoys.
func defaultLimit() *limitSettings {
	ls := &limitSettings{cfg: ratelimit.DefaultConfig()}
	ls.cfg.SignedWeight = signedWeight(ls.cfg.Rate)
	return ls
}

// signedWeight is what a denial that carries DNSSEC records counts in a
// zone that responds with decoys, at rate: no decoy can take its place,
// so a flag blocks its client, and it is judged at the rate of respond
// block (chargeDenial).
func signedWeight(rate float64) float64 { return min(rate/blockRate, 1) }

// parseLimit parses "limit" and its optional block:
//
//	limit {
//	    rate DENIALS_PER_SECOND
//	    burst DENIALS
//	    ratio FRACTION MIN_RESPONSES WINDOW | ratio off
//	    stub ANSWERS_PER_SECOND BURST | stub off
//	    block DURATION
//	    slip N
//	    table SLOTS
//	    exempt ADDRESS|CIDR...
//	    cluster URL|HOST:PORT [prefix PREFIX] [interval DURATION] [tls-ca FILE] [user NAME] [password SECRET]
//	}
//	limit off
//
// The limiter is on without a limit directive; "limit off" (ls nil) turns
// it off.
func parseLimit(c *caddy.Controller, args []string) (ls *limitSettings, exempt []netip.Prefix, err error) {
	if len(args) == 1 && args[0] == "off" {
		if c.NextArg() {
			return nil, nil, c.Errf("limit: off takes no block")
		}
		return nil, nil, nil
	}
	if len(args) != 0 {
		return nil, nil, c.Errf("limit: got %q; allowed: limit off, or limit with its settings in a block: limit { rate 20 }", strings.Join(args, " "))
	}
	ls = defaultLimit()
	seen := map[string]bool{}
	lines := map[string]int{} // the Corefile line of each option, for Validate's errors
	err = eachBlockOption(c, "limit", func(opt string, args []string) error {
		lines[opt] = c.Line()
		if seen[opt] && opt != "exempt" && opt != "canary" {
			return c.Errf("limit: option %q given twice; give it once", opt)
		}
		seen[opt] = true
		if opt == "exempt" {
			prefixes, err := parseNetworks(c, "limit: exempt", args)
			exempt = append(exempt, prefixes...)
			return err
		}
		switch opt {
		case "cluster":
			var err error
			ls.cluster, err = parseCluster(c, args)
			return err
		case "respond", "decoy", "canary":
			return parseDecoyOption(c, &ls.decoys, opt, args)
		}
		return parseLimitOption(c, ls, opt, args)
	})
	if err != nil {
		return nil, nil, err
	}
	if ls.decoys.respond == respondBlock {
		// A false flag costs a blocked client every answer, not only its
		// misses: the looser limits a busy resolver's typos stay under.
		if !seen["rate"] {
			ls.cfg.Rate = blockRate
		}
		if !seen["burst"] {
			ls.cfg.Burst = blockBurst
		}
		if !seen["stub"] {
			ls.cfg.StubBurst = blockStubBurst
		}
		ls.cfg.SignedWeight = 0
	} else {
		ls.cfg.SignedWeight = signedWeight(ls.cfg.Rate)
	}
	if err := ls.cfg.Validate(); err != nil {
		return nil, nil, validateError(c, err, lines)
	}
	return ls, exempt, nil
}

// parseLimitOption parses one option of the limit block but exempt.
func parseLimitOption(c *caddy.Controller, ls *limitSettings, opt string, args []string) error {
	var err error
	switch opt {
	case "rate":
		ls.cfg.Rate, err = oneFloat(c, opt, args, "a number of denials per second above 0, such as 20")
	case "burst":
		ls.cfg.Burst, err = oneFloat(c, opt, args, "a number of denials of at least 1, such as 100")
	case "ratio":
		err = parseRatio(c, args, &ls.cfg)
	case "stub":
		err = parseStub(c, args, &ls.cfg)
	case "block":
		ls.cfg.Block, err = oneDuration(c, opt, args, "a duration from 1s to 24h, such as 60s")
	case "slip":
		var n uint64
		if len(args) == 1 {
			n, err = strconv.ParseUint(args[0], 10, 8)
		}
		if len(args) != 1 || err != nil {
			return c.Errf("limit: slip: got %q; allowed: a whole number from 0 (never) to 255, such as 2 (about 1 in 2 blocked UDP queries gets a truncated answer)", strings.Join(args, " "))
		}
		ls.cfg.Slip = int(n)
	case "table":
		var n uint64
		if len(args) == 1 {
			n, err = strconv.ParseUint(args[0], 10, 32)
		}
		if len(args) != 1 || err != nil || n < 4 {
			return c.Errf("limit: table: got %q; allowed: a number of slots (%d bytes each) from 4 to 1073741824, such as 262144", strings.Join(args, " "), ratelimit.SlotBytes)
		}
		ls.cfg.Slots = int(n)
	default:
		return c.Errf("limit: unknown option %q; allowed: %s", opt, allowedLimitOptions)
	}
	return err
}

// validateError reports a setting the limiter rejects as a whole at the line
// of the option it names (or, for a limit that rate, burst and block reach
// together, the last of them given), not at the block's closing brace.
func validateError(c *caddy.Controller, err error, lines map[string]int) error {
	line := 0
	if opt, _, _ := strings.Cut(err.Error(), " "); lines[opt] != 0 {
		line = lines[opt]
	} else {
		for _, opt := range []string{"rate", "burst", "block"} {
			line = max(line, lines[opt])
		}
	}
	if line == 0 {
		return c.Errf("limit: %v", err)
	}
	return fmt.Errorf("%s:%d - Error during parsing: limit: %w", c.File(), line, err)
}

func oneFloat(c *caddy.Controller, opt string, args []string, allowed string) (float64, error) {
	if len(args) == 1 {
		if f, err := strconv.ParseFloat(args[0], 64); err == nil && f > 0 {
			return f, nil
		}
	}
	return 0, c.Errf("limit: %s: got %q; allowed: %s", opt, strings.Join(args, " "), allowed)
}

func oneDuration(c *caddy.Controller, opt string, args []string, allowed string) (time.Duration, error) {
	if len(args) == 1 {
		if d, err := time.ParseDuration(args[0]); err == nil && d >= time.Second && d <= 24*time.Hour {
			return d, nil
		}
	}
	return 0, c.Errf("limit: %s: got %q; allowed: %s", opt, strings.Join(args, " "), allowed)
}

// parseRatio parses "ratio FRACTION MIN_RESPONSES WINDOW" or "ratio off".
func parseRatio(c *caddy.Controller, args []string, cfg *ratelimit.Config) error {
	if len(args) == 1 && args[0] == "off" {
		cfg.Ratio = 0
		return nil
	}
	bad := c.Errf("limit: ratio: got %q; allowed: ratio FRACTION MIN_RESPONSES WINDOW (such as ratio 0.8 40 30s: at least 80%% of at least 40 responses in 30s were denials) or ratio off", strings.Join(args, " "))
	if len(args) != 3 {
		return bad
	}
	f, err1 := strconv.ParseFloat(args[0], 64)
	n, err2 := strconv.Atoi(args[1])
	w, err3 := time.ParseDuration(args[2])
	if err1 != nil || err2 != nil || err3 != nil || f <= 0 || f > 1 || n < 1 || n > 65535 || w < time.Second || w > 24*time.Hour {
		return bad
	}
	cfg.Ratio, cfg.MinCount, cfg.Window = f, n, w
	return nil
}

// parseStub parses "stub ANSWERS_PER_SECOND BURST" or "stub off".
func parseStub(c *caddy.Controller, args []string, cfg *ratelimit.Config) error {
	if len(args) == 1 && args[0] == "off" {
		cfg.StubRate = 0
		return nil
	}
	if len(args) == 2 {
		r, err1 := strconv.ParseFloat(args[0], 64)
		b, err2 := strconv.ParseFloat(args[1], 64)
		if err1 == nil && err2 == nil && r > 0 && r <= 1e6 && b >= 1 && b <= 10000 {
			cfg.StubRate, cfg.StubBurst = r, b
			return nil
		}
	}
	return c.Errf("limit: stub: got %q; allowed: stub ANSWERS_PER_SECOND BURST (such as stub 1 10: a client that asks with recursion desired and without EDNS gets 10 answers at once, then 1 a second) or stub off", strings.Join(args, " "))
}
