package localstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ClickHouse says how to start the embedded ClickHouse launcher
// (`clickhouse-embedded serve`, built by `make clickhouse`).
type ClickHouse struct {
	// Launcher is the path of the clickhouse-embedded binary.
	Launcher string
	// Path is the data directory; its contents survive a restart.
	Path string
	// TCPPort and HTTPPort are the loopback ports of the native and the HTTP
	// protocols.
	TCPPort, HTTPPort int
	// Out receives the server's output; nil means os.Stderr.
	Out io.Writer
}

// ClickHouseStartTimeout bounds the wait for the server to answer; loading
// the engine takes a few seconds.
const ClickHouseStartTimeout = 2 * time.Minute

// NativeAddr is host:port of the native protocol.
func (c ClickHouse) NativeAddr() string { return loopback(c.TCPPort) }

// HTTPAddr is host:port of the HTTP interface.
func (c ClickHouse) HTTPAddr() string { return loopback(c.HTTPPort) }

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Start starts the server and returns once both protocols answer.
func (c ClickHouse) Start(ctx context.Context) (*Process, error) {
	cmd := command(c.Launcher, []string{"serve",
		"--path", c.Path,
		"--tcp-port", strconv.Itoa(c.TCPPort),
		"--http-port", strconv.Itoa(c.HTTPPort),
	}, nil, c.Out)
	return start(ctx, "clickhouse", cmd, c.ready, ClickHouseStartTimeout)
}

func (c ClickHouse) ready(ctx context.Context) error {
	if err := httpOK(ctx, "http://"+c.HTTPAddr()+"/?query=SELECT%201", "1"); err != nil {
		return err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.NativeAddr())
	if err != nil {
		return err
	}
	return conn.Close()
}

// httpOK gets url and fails unless it answers 200 with a body that, trimmed,
// is want (any body when want is empty).
func httpOK(ctx context.Context, url, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if want != "" && strings.TrimSpace(string(body)) != want {
		return fmt.Errorf("GET %s: got %q, want %q", url, strings.TrimSpace(string(body)), want)
	}
	return nil
}
