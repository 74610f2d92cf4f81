package main

import (
	"context"
	"fmt"
	"regexp"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// queries read this run's calls; values are bound as query parameters.
type queries struct {
	db, project string
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (q queries) check() error {
	if !identifier.MatchString(q.db) {
		return fmt.Errorf("-database %q is not a plain identifier", q.db)
	}
	return nil
}

func (q queries) ctx(ctx context.Context, params clickhouse.Parameters) context.Context {
	params["project"] = q.project
	return clickhouse.Context(ctx, clickhouse.WithParameters(params))
}

// count is how many calls of the run weave.calls holds.
func (q queries) count(ctx context.Context, ch driver.Conn) (uint64, error) {
	var n uint64
	err := ch.QueryRow(q.ctx(ctx, clickhouse.Parameters{}),
		"SELECT count() FROM "+q.db+".calls WHERE project_id = {project:String}").Scan(&n)
	return n, err
}

// found returns which of ids are calls in weave.calls.
func (q queries) found(ctx context.Context, ch driver.Conn, ids []string) ([]string, error) {
	rows, err := ch.Query(q.ctx(ctx, clickhouse.Parameters{"ids": arrayLiteral(ids)}),
		"SELECT id FROM "+q.db+".calls WHERE project_id = {project:String} AND id IN {ids:Array(String)}")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// arrayLiteral writes ids (lowercase hex, so nothing to escape) as a
// ClickHouse array parameter value.
func arrayLiteral(ids []string) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\'')
		b = append(b, id...)
		b = append(b, '\'')
	}
	return string(append(b, ']'))
}
