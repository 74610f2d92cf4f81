// Package embeddedchtest gives tests a ClickHouse: one embedded server per
// test binary (see package embeddedch), or an external server named by
// environment variables, so the same tests run against either.
//
//	func TestMain(m *testing.M) { os.Exit(embeddedchtest.Run(m)) }
//
//	func TestX(t *testing.T) {
//		db := embeddedchtest.Database(t) // a fresh Atomic database, dropped at cleanup
//		conn, err := clickhouse.Open(embeddedchtest.Options())
//		...
//	}
package embeddedchtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Environment variables that name an external ClickHouse instead of the
// embedded one.
const (
	// EnvAddr is the native protocol host:port; when set, no server is started.
	EnvAddr = "CALLHOUSE_TEST_CLICKHOUSE_ADDR"
	// EnvHTTPAddr is the HTTP host:port of the external server (optional).
	EnvHTTPAddr = "CALLHOUSE_TEST_CLICKHOUSE_HTTP_ADDR"
	// EnvUser and EnvPassword authenticate to the external server (optional).
	EnvUser     = "CALLHOUSE_TEST_CLICKHOUSE_USER"
	EnvPassword = "CALLHOUSE_TEST_CLICKHOUSE_PASSWORD"
)

var (
	addr, httpAddr string
	pid            int // the embedded server's process, 0 when external

	connOnce sync.Once
	conn     clickhouse.Conn
	connErr  error
)

// Run starts one server for the test binary (unless CALLHOUSE_TEST_CLICKHOUSE_ADDR
// names an external one), runs the tests, stops it; call from TestMain:
// os.Exit(embeddedchtest.Run(m)). A server that cannot start fails the test
// binary with the reason; it never skips the tests.
func Run(m *testing.M) int {
	if a := os.Getenv(EnvAddr); a != "" {
		addr, httpAddr = a, os.Getenv(EnvHTTPAddr)
		defer closeConn()
		return m.Run()
	}
	srv, err := start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "embeddedchtest: cannot start the embedded ClickHouse: %v\n"+
			"(to use an external ClickHouse instead, set %s)\n", err, EnvAddr)
		return 1
	}
	addr, httpAddr, pid = srv.tcpAddr, srv.httpAddr, srv.cmd.Process.Pid
	code := m.Run()
	closeConn()
	if err := srv.stop(); err != nil {
		// The tests have run and the data is thrown away: report, don't fail.
		fmt.Fprintf(os.Stderr, "embeddedchtest: warning: %v\n"+
			"(status 1 after 5 s usually means a test left a connection open)\n", err)
	}
	return code
}

// Addr is the native protocol host:port of the test server.
func Addr() string { return addr }

// HTTPAddr is the HTTP host:port of the test server ("" when external and
// CALLHOUSE_TEST_CLICKHOUSE_HTTP_ADDR unset).
func HTTPAddr() string { return httpAddr }

// PID is the process id of the embedded test server, for benchmarks that
// read its CPU time; 0 when the tests use an external server.
func PID() int { return pid }

// Options are clickhouse-go options that reach the test server, with the
// credentials of CALLHOUSE_TEST_CLICKHOUSE_USER/_PASSWORD when set.
func Options() *clickhouse.Options {
	return &clickhouse.Options{
		Addr: []string{addr},
		Auth: clickhouse.Auth{
			Username: os.Getenv(EnvUser),
			Password: os.Getenv(EnvPassword),
		},
		DialTimeout: 10 * time.Second,
	}
}

// Database creates a fresh, uniquely named Atomic database for the test and
// drops it at cleanup. Tests never use `default`: in the embedded server it
// maps unknown table names to files in the working directory.
func Database(t testing.TB) string {
	t.Helper()
	c := sharedConn(t)
	name := databaseName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Exec(ctx, "CREATE DATABASE `"+name+"` ENGINE = Atomic"); err != nil {
		t.Fatalf("embeddedchtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"` SYNC"); err != nil {
			t.Errorf("embeddedchtest: drop database %s: %v", name, err)
		}
	})
	return name
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName is a valid identifier that says which test made it, made
// unique by a random suffix (test binaries may share an external server).
func databaseName(testName string) string {
	base := strings.Trim(notIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "test_" + base + "_" + hex.EncodeToString(b)
}

func sharedConn(t testing.TB) clickhouse.Conn {
	t.Helper()
	if addr == "" {
		t.Fatal("embeddedchtest: no ClickHouse; call os.Exit(embeddedchtest.Run(m)) from TestMain")
	}
	connOnce.Do(func() { conn, connErr = clickhouse.Open(Options()) })
	if connErr != nil {
		t.Fatalf("embeddedchtest: connect to %s: %v", addr, connErr)
	}
	return conn
}

func closeConn() {
	if conn != nil {
		conn.Close()
	}
}
