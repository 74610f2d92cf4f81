package integration

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/docsql"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// readmeSQLBlocks returns the README's tagged SQL by name, in order, with
// the `weave.` database replaced by db.
func readmeSQLBlocks(t testing.TB, db string) (names []string, sql map[string]string) {
	t.Helper()
	examples, err := docsql.Read(filepath.Join("..", "..", "README.md"), db)
	require.NoError(t, err)
	sql = map[string]string{}
	for _, ex := range examples {
		names = append(names, ex.Name)
		sql[ex.Name] = ex.SQL
	}
	return names, sql
}

func readmeSQL(t testing.TB, name, db string) string {
	t.Helper()
	_, sql := readmeSQLBlocks(t, db)
	s, ok := sql[name]
	require.True(t, ok, "README.md has no <!-- sql:%s --> block", name)
	return s
}

// TestREADMESQL runs every SQL example of the README against the golden
// fixtures written by the exporter.
func TestREADMESQL(t *testing.T) {
	db := embeddedchtest.Database(t)
	exp := startExporter(t, testConfig(db), nil)
	ctx := context.Background()
	for _, td := range fixtures(t) {
		require.NoError(t, exp.ConsumeTraces(ctx, td))
	}
	conn := connectShared(t)

	// Parameters of the examples, taken from the data.
	params := clickhouse.Parameters{}
	var projectID, traceID, id, threadID string
	require.NoError(t, conn.QueryRow(ctx, "SELECT project_id, trace_id, id, ifNull(thread_id, '') FROM `"+db+"`.calls ORDER BY thread_id IS NULL, model = '', started_at LIMIT 1").
		Scan(&projectID, &traceID, &id, &threadID))
	params["project_id"], params["trace_id"], params["id"], params["thread_id"] = projectID, traceID, id, threadID
	ctx = clickhouse.Context(ctx, clickhouse.WithParameters(params))

	names, sql := readmeSQLBlocks(t, db)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			for _, stmt := range strings.Split(sql[name], ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "SELECT") {
					rows, err := conn.Query(ctx, stmt)
					require.NoError(t, err, stmt)
					n := 0
					for rows.Next() {
						n++
					}
					require.NoError(t, rows.Err())
					rows.Close()
					require.Positive(t, n, "the example finds the fixture data")
					continue
				}
				require.NoError(t, conn.Exec(ctx, stmt), stmt)
			}
		})
	}
}
