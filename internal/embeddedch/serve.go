package embeddedch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options say where a server keeps its data and where it listens.
type Options struct {
	// Path is the data directory; what is stored there survives a restart.
	Path string
	// Listen is the address to listen on; the server has no authentication,
	// so only loopback addresses are accepted. Default 127.0.0.1.
	Listen string
	// TCPPort serves the native protocol (clickhouse-go's default).
	TCPPort int
	// HTTPPort serves the HTTP interface.
	HTTPPort int
	// ConfigFile (optional) is a ClickHouse configuration file (XML or YAML)
	// merged into the defaults, e.g. remote_servers naming a cluster of
	// several embedded servers.
	ConfigFile string
}

// DefaultListen is the listen address when Options.Listen is empty.
const DefaultListen = "127.0.0.1"

// StopTimeout bounds how long Serve waits for the server to stop.
const StopTimeout = 15 * time.Second

func (o Options) listen() string {
	if o.Listen == "" {
		return DefaultListen
	}
	return o.Listen
}

// TCPAddr is the native protocol address, host:port.
func (o Options) TCPAddr() string { return net.JoinHostPort(o.listen(), strconv.Itoa(o.TCPPort)) }

// HTTPAddr is the HTTP interface address, host:port.
func (o Options) HTTPAddr() string { return net.JoinHostPort(o.listen(), strconv.Itoa(o.HTTPPort)) }

// Validate reports every problem with the options.
func (o Options) Validate() error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("a data path is required"))
	}
	for _, p := range []struct {
		name string
		port int
	}{{"tcp port", o.TCPPort}, {"http port", o.HTTPPort}} {
		if p.port < 1 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s %d is not in 1..65535", p.name, p.port))
		}
	}
	if o.TCPPort == o.HTTPPort {
		errs = append(errs, fmt.Errorf("tcp and http ports are both %d", o.TCPPort))
	}
	if !isLoopback(o.listen()) {
		errs = append(errs, fmt.Errorf("listen address %q is not loopback; the embedded server has no authentication", o.listen()))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serveQuery keeps clickhouse-local running (and so serving) after it has
// started its listeners: one row every 0.1 s for about 30 years. A kill
// takes effect between rows, so short sleeps make the stop quick.
const serveQuery = "SYSTEM START LISTEN TCP; SYSTEM START LISTEN HTTP; " +
	"SELECT sleepEachRow(0.1) FROM numbers(10000000000) FORMAT Null SETTINGS max_block_size=1"

// args is the clickhouse-local command line that serves o; queryID names the
// long-running query so that a stop can kill it and readiness can find it.
func (o Options) args(queryID string) []string {
	args := []string{"clickhouse"}
	if o.ConfigFile != "" {
		args = append(args, "--config-file", o.ConfigFile)
	}
	return append(args,
		"--path", o.Path,
		"--listen_host", o.listen(),
		"--tcp_port", strconv.Itoa(o.TCPPort),
		"--http_port", strconv.Itoa(o.HTTPPort),
		"--query_id", queryID,
		"--multiquery",
		"--query", serveQuery,
	)
}

func newQueryID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "callhouse-embedded-" + hex.EncodeToString(b)
}

// checkPortsFree fails clearly when a port is taken, which clickhouse-local
// itself only reports as a network error on its standard error.
func checkPortsFree(o Options) error {
	for _, a := range []struct{ name, addr string }{{"tcp", o.TCPAddr()}, {"http", o.HTTPAddr()}} {
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			return fmt.Errorf("%s port: %s is in use or unavailable: %w", a.name, a.addr, err)
		}
		l.Close()
	}
	return nil
}

// FreePorts picks n distinct free loopback ports for a server, holding each
// until all are chosen so that they differ. Another process may still take
// one before the server binds it; Serve then fails with "in use".
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(DefaultListen, "0"))
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// httpQuery runs a query over the HTTP interface and returns its body.
func httpQuery(ctx context.Context, addr, query string, params map[string]string) (string, error) {
	v := url.Values{}
	for k, p := range params {
		v.Set("param_"+k, p)
	}
	// The query goes in the body: ClickHouse refuses a POST without a length.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/?"+v.Encode(), strings.NewReader(query))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("http %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// answering reports whether the server started with queryID serves both
// protocols: HTTP answers a query that finds the serving query (so it is
// this server, not another one on the port) and the native port accepts.
func answering(ctx context.Context, o Options, queryID string) bool {
	out, err := httpQuery(ctx, o.HTTPAddr(), "SELECT count() FROM system.processes WHERE query_id = {id:String}", map[string]string{"id": queryID})
	if err != nil || strings.TrimSpace(out) != "1" {
		return false
	}
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", o.TCPAddr())
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// stopQuery asks the server to end its serving query, which ends Serve.
func stopQuery(ctx context.Context, o Options, queryID string) error {
	_, err := httpQuery(ctx, o.HTTPAddr(), "KILL QUERY WHERE query_id = {id:String} SYNC", map[string]string{"id": queryID})
	return err
}
