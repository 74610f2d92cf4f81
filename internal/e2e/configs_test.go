package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestConfigsValidate runs `otelcol-callhouse validate` on every file in
// config/, with the environment each one documents.
func TestConfigsValidate(t *testing.T) {
	// Files whose validation by otelcol-callhouse is expected to fail, and why.
	wantErr := map[string]string{
		// Its tier runs contrib's distribution; TestLoadBalancerTier checks the rest.
		"loadbalancer.yaml": `'exporters' unknown type: "loadbalancing"`,
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "config", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs in config/: %v", err)
	}
	env := []string{
		"CALLHOUSE_CLICKHOUSE_ENDPOINT=tcp://clickhouse.example.com:9440",
		"CALLHOUSE_CLICKHOUSE_PASSWORD=secret",
		"CALLHOUSE_QUEUE_DIR=" + t.TempDir(),
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			checkValidate(t, f, env, wantErr[name])
		})
	}

	// What production.yaml requires, missing.
	t.Run("production.yaml without an endpoint", func(t *testing.T) {
		checkValidate(t, filepath.Join(repoRoot, "config", "production.yaml"),
			[]string{"CALLHOUSE_CLICKHOUSE_ENDPOINT=", "CALLHOUSE_QUEUE_DIR=" + t.TempDir()}, "endpoint: must be set")
	})
}

// checkValidate runs validate on config and checks it succeeds, or fails
// with wantErr in its output.
func checkValidate(t *testing.T, config string, env []string, wantErr string) {
	t.Helper()
	cmd := exec.Command(collectorBinary, "validate", "--config", config)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("validate %s: %v\n%s", config, err, out)
	case wantErr != "" && err == nil:
		t.Errorf("validate %s succeeded, want an error with %q", config, wantErr)
	case wantErr != "" && !strings.Contains(string(out), wantErr):
		t.Errorf("validate %s: got\n%s\nwant an error with %q", config, out, wantErr)
	}
}

// TestLoadBalancerTier checks config/loadbalancer.yaml, which runs on
// contrib's distribution: it routes by trace id (every span of a trace
// must reach the same callhouse collector), and everything in it but the
// loadbalancing exporter validates with otelcol-callhouse once that
// exporter is swapped for debug.
func TestLoadBalancerTier(t *testing.T) {
	path := filepath.Join(repoRoot, "config", "loadbalancer.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Exporters map[string]struct {
			RoutingKey string         `yaml:"routing_key"`
			Protocol   map[string]any `yaml:"protocol"`
			Resolver   map[string]any `yaml:"resolver"`
		} `yaml:"exporters"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	lb, ok := cfg.Exporters["loadbalancing"]
	if !ok {
		t.Fatal("no loadbalancing exporter")
	}
	if lb.RoutingKey != "traceID" || lb.Protocol["otlp"] == nil || len(lb.Resolver) != 1 {
		t.Errorf("loadbalancing: routing_key %q, protocol %v, resolver %v; want traceID, otlp, one resolver", lb.RoutingKey, lb.Protocol, lb.Resolver)
	}

	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["exporters"] = map[string]any{"debug": map[string]any{}}
	pipelines := doc["service"].(map[string]any)["pipelines"].(map[string]any)
	for _, p := range pipelines {
		p.(map[string]any)["exporters"] = []string{"debug"}
	}
	swapped, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	swappedPath := filepath.Join(t.TempDir(), "loadbalancer-debug.yaml")
	if err := os.WriteFile(swappedPath, swapped, 0o644); err != nil {
		t.Fatal(err)
	}
	checkValidate(t, swappedPath, nil, "")
}
