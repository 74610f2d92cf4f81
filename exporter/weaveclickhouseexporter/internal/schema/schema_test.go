package schema

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden DDL files in testdata/ddl")

// TestRenderedDDL compares the whole rendered schema (bootstrap and every
// migration) with testdata/ddl/<case>.sql.
func TestRenderedDDL(t *testing.T) {
	cases := map[string]Options{
		"single":      {Database: "weave"},
		"single_ttl":  {Database: "weave", TablePrefix: "prod_", TTL: 30 * 24 * time.Hour},
		"cluster":     {Database: "weave", Cluster: "weave_cluster"},
		"cluster_ttl": {Database: "obs", TablePrefix: "w_", Cluster: "prod-eu.1", TTL: 90 * 24 * time.Hour},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			got := renderAll(t, o)
			path := filepath.Join("testdata", "ddl", name+".sql")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

func renderAll(t *testing.T, o Options) string {
	t.Helper()
	boot, err := o.Bootstrap()
	require.NoError(t, err)
	migs, err := o.Migrations()
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("-- bootstrap\n")
	for _, s := range boot {
		b.WriteString(s + ";\n\n")
	}
	for _, m := range migs {
		b.WriteString("-- migration " + m.Name + "\n")
		for _, s := range m.Statements {
			b.WriteString(s + ";\n\n")
		}
	}
	return b.String()
}

func TestMigrationsAreNumberedFromOne(t *testing.T) {
	migs, err := Options{Database: "weave"}.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, migs)
	for i, m := range migs {
		assert.Equal(t, uint32(i+1), m.Version, m.Name)
		assert.NotEmpty(t, m.Statements, m.Name)
		assert.Len(t, m.Checksum, 16)
	}
}

// TestClusterDDL asserts what cluster mode is for, on top of the golden file:
// every statement runs ON CLUSTER and no plain MergeTree engine is left.
func TestClusterDDL(t *testing.T) {
	o := Options{Database: "weave", Cluster: "c1"}
	all := renderAll(t, o)
	for _, stmt := range strings.Split(all, ";\n") {
		if hasCode(stmt) {
			assert.Contains(t, stmt, "ON CLUSTER `c1`", stmt)
		}
	}
	assert.NotRegexp(t, `ENGINE = ReplacingMergeTree`, all)
	assert.Contains(t, all, "ENGINE = Distributed('c1', 'weave', 'call_versions_local', cityHash64(trace_id))")
	assert.Equal(t, "`weave`.`call_versions`", o.CallsTable())
}

func TestIdentifierValidation(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{"defaults", Options{Database: "weave"}, nil},
		{"prefix and cluster", Options{Database: "w_2", TablePrefix: "p_", Cluster: "prod-eu.1"}, nil},
		{"injection in database", Options{Database: "weave; DROP TABLE x"}, []string{`database "weave; DROP TABLE x" is not a valid identifier`}},
		{"backtick", Options{Database: "we`ave"}, []string{"database"}},
		{"empty database", Options{Database: ""}, []string{"database"}},
		{"digit first", Options{Database: "1weave"}, []string{"database"}},
		{"prefix with quote", Options{Database: "weave", TablePrefix: "x'"}, []string{"table_prefix"}},
		{"cluster injection", Options{Database: "weave", Cluster: "c') --"}, []string{"cluster_name"}},
		{"too long", Options{Database: strings.Repeat("a", 129)}, []string{"longer than 128"}},
		{"negative ttl", Options{Database: "weave", TTL: -time.Second}, []string{"ttl"}},
		{"every problem at once", Options{Database: "a b", TablePrefix: "-", Cluster: "'", TTL: -1}, []string{"database", "table_prefix", "cluster_name", "ttl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			_, err = tc.opts.Migrations()
			assert.Error(t, err, "an invalid identifier must never be rendered")
		})
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- only a comment;\nSELECT 1;\n\n-- c\nSELECT ';' AS x;\nSELECT 2")
	assert.Equal(t, []string{"SELECT 1", "-- c\nSELECT ';' AS x", "SELECT 2"}, got)
}
