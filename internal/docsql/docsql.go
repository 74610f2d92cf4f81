// Package docsql reads the SQL examples of a Markdown document, so tests can
// run every example the docs show and the docs cannot rot.
//
// An example is a ```sql block preceded by a tag comment `<!-- sql:NAME -->`,
// optionally followed by a ```text block: what the query prints in ClickHouse's
// PrettyCompactMonoBlock format.
package docsql

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Example is one tagged SQL example.
type Example struct {
	Name   string
	SQL    string // the query, with `weave.` pointed at the database asked for
	Output string // the result the document shows; "" when it shows none
}

var (
	exampleRE  = regexp.MustCompile("(?s)<!-- sql:([a-z0-9-]+) -->\\s*```sql\\n(.*?)```(?:\\s*```text\\n(.*?)```)?")
	databaseRE = regexp.MustCompile(`\bweave\.`)
	dateRE     = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
)

// Read returns the tagged examples of the document at path, in order, with
// the database `weave` replaced by db.
func Read(path, db string) ([]Example, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Example
	for _, m := range exampleRE.FindAllStringSubmatch(string(b), -1) {
		out = append(out, Example{
			Name:   m[1],
			SQL:    databaseRE.ReplaceAllString(m[2], "`"+db+"`."),
			Output: m[3],
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no tagged SQL examples (<!-- sql:NAME --> before a ```sql block)", path)
	}
	return out, nil
}

// Normalize makes a printed result comparable across runs: dates become
// YYYY-MM-DD (same width, so tables keep their shape) and trailing blanks go.
func Normalize(s string) string {
	s = dateRE.ReplaceAllString(s, "YYYY-MM-DD")
	lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
