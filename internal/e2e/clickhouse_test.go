package e2e

// TEMPORARY stand-in for embeddedchtest until it lands: the launcher on free ports.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callhouse/callhouse/internal/localstack"
)

var chServer localstack.ClickHouse

func runWithClickHouse(m *testing.M) {
	dir, _ := os.MkdirTemp("", "e2e-ch-")
	tcp, _ := localstack.FreePort()
	httpP, _ := localstack.FreePort()
	chServer = localstack.ClickHouse{Launcher: filepath.Join(repoRoot, "build", "clickhouse-embedded"), Path: dir, TCPPort: tcp, HTTPPort: httpP, Out: os.Stderr}
	p, err := chServer.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	p.Stop(localstack.StopTimeout)
	os.RemoveAll(dir)
	os.Exit(code)
}

func chAddr() string { return chServer.NativeAddr() }

var dbSeq atomic.Int64

func chDatabase(t *testing.T) string {
	name := fmt.Sprintf("e2e_%s_%d", strings.NewReplacer("/", "_", "-", "_").Replace(strings.ToLower(t.Name())), dbSeq.Add(1))
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{chAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Exec(context.Background(), "CREATE DATABASE `"+name+"` ENGINE = Atomic"); err != nil {
		t.Fatal(err)
	}
	return name
}
