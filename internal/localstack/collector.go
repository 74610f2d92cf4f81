package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Collector says how to start the otelcol-callhouse binary.
type Collector struct {
	// Binary is the path of otelcol-callhouse.
	Binary string
	// Config is the path of the configuration file.
	Config string
	// Overlays are further configuration files merged over Config, in order
	// (maps merge key by key; lists are replaced).
	Overlays []string
	// Env is added to the parent's environment (the configs in config/ read
	// their addresses from it).
	Env []string
	// Health is host:port of the health_check extension, which answers 200
	// once every pipeline runs.
	Health string
	// Out receives the collector's log; nil means os.Stderr.
	Out io.Writer
}

// CollectorStartTimeout bounds the wait for the health check; creating the
// schema is part of the start.
const CollectorStartTimeout = time.Minute

// Start starts the collector and returns once its health check answers.
func (c Collector) Start(ctx context.Context) (*Process, error) {
	args := []string{"--config", c.Config}
	for _, o := range c.Overlays {
		args = append(args, "--config", o)
	}
	cmd := command(c.Binary, args, c.Env, c.Out)
	return start(ctx, "collector", cmd, func(ctx context.Context) error {
		return httpOK(ctx, "http://"+c.Health+"/", "")
	}, CollectorStartTimeout)
}

// Endpoints are the loopback addresses of one collector, in the environment
// variables that config/callhouse.yaml reads.
type Endpoints struct {
	OTLPGRPC, OTLPHTTP, Health string // host:port
	MetricsPort                int
}

// FreeEndpoints picks free loopback ports for a collector.
func FreeEndpoints() (Endpoints, error) {
	var ports [4]int
	for i := range ports {
		p, err := FreePort()
		if err != nil {
			return Endpoints{}, err
		}
		ports[i] = p
	}
	return Endpoints{
		OTLPGRPC:    loopback(ports[0]),
		OTLPHTTP:    loopback(ports[1]),
		Health:      loopback(ports[2]),
		MetricsPort: ports[3],
	}, nil
}

// Env is e as config/callhouse.yaml's environment variables, with the
// ClickHouse native address (host:port) and database it writes to.
func (e Endpoints) Env(clickhouseNative, database string) []string {
	return []string{
		"CALLHOUSE_OTLP_GRPC_ENDPOINT=" + e.OTLPGRPC,
		"CALLHOUSE_OTLP_HTTP_ENDPOINT=" + e.OTLPHTTP,
		"CALLHOUSE_HEALTH_ENDPOINT=" + e.Health,
		"CALLHOUSE_METRICS_PORT=" + strconv.Itoa(e.MetricsPort),
		fmt.Sprintf("CALLHOUSE_CLICKHOUSE_ENDPOINT=tcp://%s", clickhouseNative),
		"CALLHOUSE_CLICKHOUSE_DATABASE=" + database,
	}
}

// Stack is an embedded ClickHouse and a collector in front of it, on free
// loopback ports, with its data in a directory of its own.
type Stack struct {
	ClickHouse ClickHouse
	Endpoints  Endpoints
	Database   string
	processes  []*Process // start order
}

// StartStack starts ClickHouse with launcher and data in dir, then the
// collector binary with config (one of config/, which reads its addresses
// from the environment), writing to database; output goes to out.
func StartStack(ctx context.Context, launcher, binary, config, dir, database string, out io.Writer) (*Stack, error) {
	tcp, err := FreePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	ep, err := FreeEndpoints()
	if err != nil {
		return nil, err
	}
	s := &Stack{
		ClickHouse: ClickHouse{Launcher: launcher, Path: dir, TCPPort: tcp, HTTPPort: httpPort, Out: out},
		Endpoints:  ep,
		Database:   database,
	}
	ch, err := s.ClickHouse.Start(ctx)
	if err != nil {
		return nil, err
	}
	s.processes = append(s.processes, ch)
	col, err := Collector{Binary: binary, Config: config, Env: ep.Env(s.ClickHouse.NativeAddr(), database), Health: ep.Health, Out: out}.Start(ctx)
	if err != nil {
		s.Stop(StopTimeout)
		return nil, err
	}
	s.processes = append(s.processes, col)
	return s, nil
}

// StopTimeout is how long Stop gives each process before killing it.
const StopTimeout = 30 * time.Second

// Stop stops the collector (which flushes) and then ClickHouse.
func (s *Stack) Stop(timeout time.Duration) error {
	var errs []error
	for i := len(s.processes) - 1; i >= 0; i-- {
		errs = append(errs, s.processes[i].Stop(timeout))
	}
	s.processes = nil
	return errors.Join(errs...)
}
