//go:build e2e

package harness

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Metrics is a scrape of /metrics in the text format: its samples and the
// sample lines they came from.
type Metrics struct {
	Samples []Sample
	Text    string
}

// Sample is one line of a scrape: a series and its value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// ScrapeText fetches /metrics from addr (host:port) and keeps the samples
// whose names start with one of prefixes.
func ScrapeText(t *testing.T, addr string, prefixes ...string) Metrics {
	t.Helper()
	return ParseMetrics(t, FetchMetrics(t, addr), prefixes...)
}

// FetchMetrics returns the body of http://addr/metrics, trying for up to
// 10 s while the server does not answer with 200 OK.
func FetchMetrics(t *testing.T, addr string) []byte {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + addr + "/metrics"
	var body []byte
	var lastErr error
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 50 && time.Now().Before(deadline); i++ {
		resp, err := client.Get(url)
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		if lastErr = err; err == nil {
			return body
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return nil
}

// ParseMetrics parses the sample lines of a scrape whose names start with
// one of prefixes, or every sample line if there are none.
func ParseMetrics(t *testing.T, body []byte, prefixes ...string) Metrics {
	t.Helper()
	var m Metrics
	var text strings.Builder
	for line := range strings.Lines(string(body)) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if len(prefixes) > 0 && !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(line, p) }) {
			continue
		}
		text.WriteString(line)
		sm := sampleRE.FindStringSubmatch(trimmed)
		if sm == nil {
			t.Fatalf("cannot parse metrics line %q", line)
		}
		v, err := strconv.ParseFloat(sm[3], 64)
		if err != nil {
			t.Fatalf("cannot parse value in metrics line %q: %v", line, err)
		}
		s := Sample{Name: sm[1], Labels: map[string]string{}, Value: v}
		for _, lm := range labelRE.FindAllStringSubmatch(sm[2], -1) {
			s.Labels[lm[1]] = lm[2]
		}
		m.Samples = append(m.Samples, s)
	}
	m.Text = text.String()
	return m
}

// Values returns the values of the samples of name whose labels include
// the given label/value pairs.
func (m Metrics) Values(name string, labelPairs ...string) []float64 {
	var out []float64
next:
	for _, s := range m.Samples {
		if s.Name != name {
			continue
		}
		for i := 0; i+1 < len(labelPairs); i += 2 {
			if s.Labels[labelPairs[i]] != labelPairs[i+1] {
				continue next
			}
		}
		out = append(out, s.Value)
	}
	return out
}

// Sum adds the samples of name whose labels include the given label/value
// pairs.
func (m Metrics) Sum(name string, labelPairs ...string) float64 {
	var total float64
	for _, v := range m.Values(name, labelPairs...) {
		total += v
	}
	return total
}

// LabelNames returns, for each metric name in the scrape, the label names
// its samples carry.
func (m Metrics) LabelNames() map[string]map[string]bool {
	names := map[string]map[string]bool{}
	for _, s := range m.Samples {
		if names[s.Name] == nil {
			names[s.Name] = map[string]bool{}
		}
		for l := range s.Labels {
			names[s.Name][l] = true
		}
	}
	return names
}
