package integration

// TEMPORARY stand-in for internal/embeddedch/embeddedchtest until it lands:
// the same calls, against a server named by WEAVECH_ADDR.

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

var embeddedchtest shim

type shim struct{}

func (shim) Run(m *testing.M) int { return m.Run() }
func (shim) Addr() string         { return os.Getenv("WEAVECH_ADDR") }
func (shim) HTTPAddr() string     { return os.Getenv("WEAVECH_HTTP_ADDR") }

var dbSeq atomic.Int64

func (shim) Database(t testing.TB) string {
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbSeq.Add(1))
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{embeddedchtest.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(context.Background(), "CREATE DATABASE "+name+" ENGINE = Atomic"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE "+name+" SYNC"); conn.Close() })
	return name
}
