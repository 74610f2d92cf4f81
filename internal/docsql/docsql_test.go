package docsql

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	doc := "# x\n<!-- sql:with-output -->\n```sql\nSELECT 1 FROM weave.calls\n```\n\n```text\n 1 │ 2026-11-21 │\n```\n" +
		"text\n<!-- sql:no-output -->\n```sql\nSELECT * FROM weave.traces JOIN weave.ops\n```\n" +
		"```sql\nSELECT 'untagged'\n```\n"
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, "db1")
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{Name: "with-output", SQL: "SELECT 1 FROM `db1`.calls\n", Output: " 1 │ 2026-11-21 │\n"},
		{Name: "no-output", SQL: "SELECT * FROM `db1`.traces JOIN `db1`.ops\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d examples %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("example %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestReadNoExamples(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte("```sql\nSELECT 1\n```\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path, "db"); err == nil {
		t.Fatal("a document without tagged examples is an error")
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{" │ 2026-11-21 │ x │   \n  └──┘  \n\n", " │ YYYY-MM-DD │ x │\n  └──┘"},
		{"20261121 2026-1-2", "20261121 2026-1-2"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
