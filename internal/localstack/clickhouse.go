package localstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
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
	// Out receives the server's output; nil means os.Stderr. It is written
	// from two goroutines, so it must be safe for concurrent writes.
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

// Start starts the server and returns once it is ready: the launcher
// prints a line starting with "ready " once both protocols of *this* server
// answer (another server on the same ports does not count).
func (c ClickHouse) Start(ctx context.Context) (*Process, error) {
	cmd := command(c.Launcher, []string{"serve",
		"--path", c.Path,
		"--tcp-port", strconv.Itoa(c.TCPPort),
		"--http-port", strconv.Itoa(c.HTTPPort),
	}, nil, c.Out)
	// A pipe of our own rather than cmd.StdoutPipe, which Wait closes
	// while the last lines may still be unread.
	out, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = w
	ready := make(chan struct{})
	go func() {
		// Pass the output on, noting the ready line; read to the end so
		// the launcher never blocks on a full pipe.
		defer out.Close()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(cmd.Stderr, line)
			if strings.HasPrefix(line, "ready ") {
				select {
				case <-ready:
				default:
					close(ready)
				}
			}
		}
	}()
	return start(ctx, "clickhouse", cmd, func(context.Context) error {
		select {
		case <-ready:
			return nil
		default:
			return errors.New("no ready line yet")
		}
	}, ClickHouseStartTimeout, w)
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
