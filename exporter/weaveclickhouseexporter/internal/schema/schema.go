// Package schema holds the ClickHouse schema of the weaveclickhouse
// exporter: versioned migrations kept as SQL templates, rendered over
// validated identifiers only (values are never spliced into SQL), and the
// code that applies them and records them in a schema-version table.
package schema

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// Options name where the schema lives. Every string in it is an identifier
// and is checked by Validate before anything is rendered.
type Options struct {
	// Database holds every table and view.
	Database string
	// TablePrefix is put in front of every table and view name ("" = none).
	TablePrefix string
	// Cluster, when set, renders ON CLUSTER DDL, Replicated engines and a
	// Distributed table for inserts and reads.
	Cluster string
	// TTL drops calls this long after they started (0 = keep forever).
	TTL time.Duration
}

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	prefixRE  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)?$`)
	clusterRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
)

// maxIdentLen keeps names well inside ClickHouse's file-name limits.
const maxIdentLen = 128

// ValidateDatabase reports whether name can be a database name.
func ValidateDatabase(name string) error {
	return validateIdent("database", name, identRE, "letters, digits and _, not starting with a digit")
}

// ValidateTablePrefix reports whether p can prefix table names.
func ValidateTablePrefix(p string) error {
	return validateIdent("table_prefix", p, prefixRE, "empty, or letters, digits and _, not starting with a digit")
}

// ValidateCluster reports whether name can be a cluster name ("" = no cluster).
func ValidateCluster(name string) error {
	if name == "" {
		return nil
	}
	return validateIdent("cluster_name", name, clusterRE, "letters, digits, _, - and ., starting with a letter or _")
}

func validateIdent(what, s string, re *regexp.Regexp, rule string) error {
	if len(s) > maxIdentLen {
		return fmt.Errorf("%s: %d characters is longer than %d", what, len(s), maxIdentLen)
	}
	if !re.MatchString(s) {
		return fmt.Errorf("%s %q is not a valid identifier (%s)", what, s, rule)
	}
	return nil
}

// Validate reports every problem of the options.
func (o Options) Validate() error {
	var errs []error
	errs = append(errs, ValidateDatabase(o.Database), ValidateTablePrefix(o.TablePrefix), ValidateCluster(o.Cluster))
	if o.TTL < 0 {
		errs = append(errs, fmt.Errorf("ttl: %s is negative", o.TTL))
	}
	return errors.Join(errs...)
}

// quote renders a validated identifier in backticks.
func quote(ident string) string { return "`" + ident + "`" }

// literal renders a validated identifier as a string literal (the
// Distributed engine takes names as strings).
func literal(ident string) string { return "'" + ident + "'" }

// Table returns the qualified, quoted name of a table or view of the schema.
func (o Options) Table(name string) string {
	return quote(o.Database) + "." + quote(o.TablePrefix+name)
}

// storageTable is the MergeTree table of call versions: the table itself on
// a single server, the per-shard table behind the Distributed one on a cluster.
func (o Options) storageTable() string {
	if o.Cluster != "" {
		return "call_versions_local"
	}
	return "call_versions"
}

// CallsTable is where calls are inserted: the storage table, or on a
// cluster the Distributed table in front of it.
func (o Options) CallsTable() string { return o.Table("call_versions") }

// PricesTable is the llm_token_prices table.
func (o Options) PricesTable() string { return o.Table("llm_token_prices") }

// MigrationsTable records the applied migrations.
func (o Options) MigrationsTable() string { return o.Table("schema_migrations") }

// Migration is one numbered schema change, rendered for a set of Options.
type Migration struct {
	Version    uint32
	Name       string
	Checksum   string   // of the template, so a changed file is visible
	Statements []string // rendered, in order
}

// templateData is what the SQL templates see: identifiers and numbers only.
type templateData struct {
	Database     string
	Cluster      string
	StorageTable string
	TTLSeconds   int64
}

func (o Options) render(file string) ([]string, error) {
	src, err := sqlFiles.ReadFile("sql/" + file)
	if err != nil {
		return nil, err
	}
	onCluster := ""
	if o.Cluster != "" {
		onCluster = " ON CLUSTER " + quote(o.Cluster)
	}
	funcs := template.FuncMap{
		"db":        func() string { return quote(o.Database) },
		"onCluster": func() string { return onCluster },
		"table":     o.Table,
		"name":      func(table string) string { return o.TablePrefix + table },
		"literal":   literal,
		// engine renders a MergeTree-family engine; on a cluster its
		// Replicated form with one replica set per shard.
		"engine": func(family, arg string) string {
			if o.Cluster == "" {
				return family + "(" + arg + ")"
			}
			return "Replicated" + family + "('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', " + arg + ")"
		},
		// engineEveryShard is engine for small tables every node holds
		// whole: on a cluster, one replica set across all shards.
		"engineEveryShard": func(family, arg string) string {
			if o.Cluster == "" {
				return family + "(" + arg + ")"
			}
			return "Replicated" + family + "('/clickhouse/tables/all/{database}/{table}', '{replica}', " + arg + ")"
		},
	}
	tmpl, err := template.New(file).Funcs(funcs).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("schema template %s: %w", file, err)
	}
	var out bytes.Buffer
	data := templateData{
		Database:     o.Database,
		Cluster:      o.Cluster,
		StorageTable: o.storageTable(),
		TTLSeconds:   int64(o.TTL / time.Second),
	}
	if err := tmpl.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("schema template %s: %w", file, err)
	}
	return splitStatements(out.String()), nil
}

// statementEnd is a semicolon that ends a line: the statement separator of
// the SQL files.
var statementEnd = regexp.MustCompile(`;[ \t]*(\n|$)`)

// splitStatements cuts rendered SQL into statements, dropping comment-only
// pieces.
func splitStatements(sql string) []string {
	var stmts []string
	for _, part := range statementEnd.Split(sql, -1) {
		if hasCode(part) {
			stmts = append(stmts, strings.TrimSpace(part))
		}
	}
	return stmts
}

func hasCode(sql string) bool {
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--") {
			return true
		}
	}
	return false
}

// Bootstrap returns the statements that create the database and the
// migrations table; they are safe to run on every start.
func (o Options) Bootstrap() ([]string, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o.render("bootstrap.sql")
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns every migration rendered for o, in version order.
func (o Options) Migrations() ([]Migration, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(sqlFiles, "sql")
	if err != nil {
		return nil, err
	}
	var migs []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		src, _ := sqlFiles.ReadFile("sql/" + e.Name())
		sum := sha256.Sum256(src)
		stmts, err := o.render(e.Name())
		if err != nil {
			return nil, err
		}
		migs = append(migs, Migration{Version: uint32(v), Name: m[2], Checksum: hex.EncodeToString(sum[:8]), Statements: stmts})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].Version < migs[j].Version })
	return migs, nil
}
