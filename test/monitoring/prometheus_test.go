//go:build e2e

package monitoring

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

type promServer struct {
	base    string
	dataDir string
	rules   string
}

// startPrometheus starts Prometheus scraping CoreDNS every second with
// the rules loaded, and waits until it is ready and has scraped once.
func startPrometheus(t *testing.T, dir string) *promServer {
	t.Helper()
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	p := &promServer{base: "http://" + promAddr, dataDir: filepath.Join(dir, "prometheus-data"), rules: rules}
	config := filepath.Join(dir, "prometheus.yml")
	harness.WriteFile(t, config, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: coredns
    static_configs:
      - targets: ['%s']
`, rules, metricsAddr))
	harness.StartProcess(t, harness.Process{
		Name: "prometheus", Dir: dir, LogPath: filepath.Join(dir, "prometheus.log"),
		Argv: []string{"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + p.dataDir,
			"--web.listen-address=" + promAddr, "--log.level=warn"},
		Timeout: 30 * time.Second, Ready: p.ready, Hint: "is " + promAddr + " free?",
	})
	return p
}

// ready checks that the Prometheus on promAddr is ours (its storage
// path) and has scraped CoreDNS successfully.
func (p *promServer) ready() error {
	var flags map[string]string
	if err := p.get("/api/v1/status/flags", nil, &flags); err != nil {
		return err
	}
	if flags["storage.tsdb.path"] != p.dataDir {
		return fmt.Errorf("the Prometheus on %s stores in %q, not this run's %s", promAddr, flags["storage.tsdb.path"], p.dataDir)
	}
	res, err := p.query(`up{job="coredns"} == 1`)
	if err != nil {
		return err
	}
	if len(res) != 1 {
		return fmt.Errorf("CoreDNS target not up yet: %v", res)
	}
	return nil
}

// get fetches a Prometheus API path and decodes its data field into v.
func (p *promServer) get(path string, params url.Values, v any) error {
	u := p.base + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query and returns its vector.
func (p *promServer) query(q string) ([]promSample, error) {
	var data struct {
		ResultType string       `json:"resultType"`
		Result     []promSample `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s", q, data.ResultType)
	}
	return data.Result, nil
}

// waitScrapeAfter waits until Prometheus has scraped CoreDNS after t0.
func (p *promServer) waitScrapeAfter(t *testing.T, t0 time.Time) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var data struct {
			ActiveTargets []struct {
				LastScrape time.Time `json:"lastScrape"`
				Health     string    `json:"health"`
			} `json:"activeTargets"`
		}
		if err := p.get("/api/v1/targets", url.Values{"state": {"active"}}, &data); err == nil &&
			len(data.ActiveTargets) == 1 && data.ActiveTargets[0].Health == "up" && data.ActiveTargets[0].LastScrape.After(t0) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Prometheus did not scrape CoreDNS within 20s after %v", t0)
}
