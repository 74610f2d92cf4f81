package schema

import (
	"strings"
	"testing"
)

// FuzzIdentifiers: whatever a config names, an identifier that passes
// validation renders into DDL only as a quoted name that cannot end its
// quotes, and one that fails is never rendered.
func FuzzIdentifiers(f *testing.F) {
	for _, s := range []string{"weave", "weave; DROP TABLE x", "a`b", "p_", "prod-eu.1", "c') --", "", "x\ny", "ü"} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, db, prefix, cluster string) {
		o := Options{Database: db, TablePrefix: prefix, Cluster: cluster}
		migs, err := o.Migrations()
		if o.Validate() != nil {
			if err == nil {
				t.Fatalf("invalid options %+v rendered", o)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid options %+v: %v", o, err)
		}
		for _, s := range []string{db, prefix, cluster} {
			if strings.ContainsAny(s, "`'\"\\; \t\n\r()") {
				t.Fatalf("identifier %q with a quote, separator or space passed validation", s)
			}
		}
		if len(migs) == 0 {
			t.Fatal("no migrations")
		}
	})
}
