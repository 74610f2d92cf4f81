package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callhouse/callhouse/internal/callmap"
)

// nativeInserts sends the INSERTs of a native-protocol endpoint with ch-go,
// whose columns encode straight from the records: clickhouse-go's batch
// copies every value into column buffers that it makes anew for every
// INSERT, and it boxes LowCardinality values row by row (measured: a third
// of the exporter's CPU per call). clickhouse-go still runs the schema
// statements and the HTTP endpoints.
type nativeInserts struct {
	addrs []string
	// strategy picks the first address to try, as the DSN's
	// connection_open_strategy does for clickhouse-go; next counts the
	// connections for round_robin.
	strategy clickhouse.ConnOpenStrategy
	next     atomic.Uint64
	dial     func(ctx context.Context, addr string) (net.Conn, error)
	opts     ch.Options
	// maxLifetime is how long a connection is used before it is replaced
	// (the DSN's conn_max_lifetime), so that connections spread again over
	// the addresses.
	maxLifetime time.Duration
	// idle holds the connections between INSERTs, one per queue consumer
	// at most; an INSERT takes one or dials a new one.
	idle chan idleClient
}

// client is a connection and when it was made.
type client struct {
	*ch.Client
	born time.Time
	// tcp is the connection's socket (under TLS, if any), for closedByPeer.
	tcp net.Conn
}

// idleClient is a connection waiting for the next INSERT, and since when.
type idleClient struct {
	client
	since time.Time
}

// pingAfter is how long a connection may wait unused before it is checked
// with a ping: the server or a proxy may have closed it meanwhile, and an
// INSERT on a dead connection would fail and wait for its retry.
const pingAfter = time.Second

// nativeSettings are the native INSERT's query settings.
//
// low_cardinality_allow_in_native_format = 0: the server describes the
// LowCardinality columns to the INSERT as their plain types, the exporter
// sends them so (kind.nativeType), and the server turns the values back
// into LowCardinality itself. The stored types do not change; the server's
// CPU per INSERT measured the same.
var nativeSettings = []ch.Setting{{Key: "low_cardinality_allow_in_native_format", Value: "0"}}

// Defaults of clickhouse-go, for a DSN without them.
const (
	defaultDialTimeout = 30 * time.Second
	defaultReadTimeout = 5 * time.Minute
	defaultMaxLifetime = time.Hour
)

// newNativeInserts connects like the clickhouse-go options do: their
// addresses in order, credentials, TLS, compression and DSN settings.
// The session database is ch-go's `default` (clickhouse-go asks for none);
// the INSERT names its table with the database. Writes are not bounded per
// write (boundWrites): ch-go bounds each one by the context's deadline, the
// exporter's timeout, and a per-write bound set on every write would push
// that deadline back, and the second ch-go gives the query's cancellation,
// by a whole timeout.
func newNativeInserts(opts *clickhouse.Options, compression string, idle int) *nativeInserts {
	settings := append([]ch.Setting(nil), nativeSettings...)
	for k, v := range opts.Settings {
		settings = append(settings, ch.Setting{Key: k, Value: fmt.Sprint(v)})
	}
	method := ch.CompressionLZ4
	switch compression {
	case compressionZSTD:
		method = ch.CompressionZSTD
	case compressionNone:
		method = ch.CompressionDisabled
	}
	readTimeout := opts.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = defaultReadTimeout
	}
	// Dialling an address and the handshake on it are bounded as
	// clickhouse-go bounds them: dial_timeout (the DSN's, or derived from
	// the exporter's timeout), else its default.
	dialOpts := *opts
	dialOpts.DialTimeout = cmp.Or(opts.DialTimeout, defaultDialTimeout)
	return &nativeInserts{
		addrs:       opts.Addr,
		strategy:    opts.ConnOpenStrategy,
		maxLifetime: cmp.Or(opts.ConnMaxLifetime, defaultMaxLifetime),
		dial:        dialer(&dialOpts, 0),
		opts: ch.Options{
			User:             opts.Auth.Username,
			Password:         opts.Auth.Password,
			Compression:      method,
			ClientName:       "callhouse-weaveclickhouse/" + moduleVersion(),
			Settings:         settings,
			ReadTimeout:      readTimeout,
			HandshakeTimeout: dialOpts.DialTimeout,
		},
		idle: make(chan idleClient, max(idle, 1)),
	}
}

// insert runs one INSERT of the blocks next returns, until it returns
// none. ch-go encodes and sends each block before it asks for the next.
func (n *nativeInserts) insert(ctx context.Context, statement string, next func() []callmap.Record) error {
	c, err := n.acquire(ctx)
	if err != nil {
		return err
	}
	// Empty at the end: ch-go sends what is left in the input at io.EOF
	// as its tail.
	chunk := next()
	input := make(proto.Input, len(columns))
	for i := range columns {
		input[i] = proto.InputColumn{Name: columns[i].name, Data: recordColumn{kind: &columns[i].kind, rows: &chunk}}
	}
	err = c.Do(ctx, ch.Query{
		Body:  statement + " VALUES",
		Input: input,
		OnInput: func(context.Context) error {
			if chunk = next(); len(chunk) == 0 {
				return io.EOF
			}
			return nil
		},
	})
	n.release(c, err)
	return err
}

// chunkBytes bounds the field bytes of one native block: ch-go encodes a
// whole block into the connection's buffers (plain and compressed), which
// keep the size of the largest block for the connection's lifetime. 256
// calls of ordinary size are far below it; 256 calls with large payloads
// (max_value_bytes allows 1 MiB per field) would leave every consumer's
// connection holding hundreds of MB.
const chunkBytes = 1 << 20

// acquire takes an idle connection or connects a new one.
func (n *nativeInserts) acquire(ctx context.Context) (client, error) {
	for {
		select {
		case c := <-n.idle:
			if c.IsClosed() {
				continue
			}
			if closedByPeer(c.tcp) {
				// A server restart or a middlebox closed it while idle;
				// an INSERT on it would fail and wait for its retry.
				_ = c.Close()
				continue
			}
			if n.maxLifetime > 0 && time.Since(c.born) > n.maxLifetime {
				_ = c.Close()
				continue
			}
			if time.Since(c.since) > pingAfter {
				if err := c.Ping(ctx); err != nil {
					_ = c.Close()
					continue
				}
			}
			return c.client, nil
		default:
			return n.connect(ctx)
		}
	}
}

// connect dials the addresses, from the one the strategy picks on, and
// shakes hands with the first that answers.
func (n *nativeInserts) connect(ctx context.Context) (client, error) {
	if len(n.addrs) == 0 {
		return client{}, errors.New("the endpoint names no address")
	}
	var first int
	switch n.strategy {
	case clickhouse.ConnOpenRoundRobin:
		first = int((n.next.Add(1) - 1) % uint64(len(n.addrs)))
	case clickhouse.ConnOpenRandom:
		first = rand.IntN(len(n.addrs))
	}
	var errs []error
	for i := range n.addrs {
		addr := n.addrs[(first+i)%len(n.addrs)]
		conn, err := n.dial(ctx, addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := ch.Connect(ctx, readTimeouts{conn}, n.opts)
		if err != nil {
			_ = conn.Close()
			errs = append(errs, err)
			continue
		}
		tcp := conn
		if tc, ok := conn.(interface{ NetConn() net.Conn }); ok { // TLS
			tcp = tc.NetConn()
		}
		return client{Client: c, born: time.Now(), tcp: tcp}, nil
	}
	return client{}, errors.Join(errs...)
}

// release keeps a connection whose INSERT succeeded for the next one; a
// failed INSERT may leave the connection mid-protocol, so it is closed.
func (n *nativeInserts) release(c client, err error) {
	if err == nil {
		select {
		case n.idle <- idleClient{client: c, since: time.Now()}:
			return
		default:
		}
	}
	_ = c.Close()
}

// close closes the idle connections.
func (n *nativeInserts) close() {
	for {
		select {
		case c := <-n.idle:
			_ = c.Close()
		default:
			return
		}
	}
}

// readTimeouts fails ch-go's query on a read that times out. ch-go reads
// each packet of the server's answer within its ReadTimeout (the
// exporter's timeout, else the DSN's read_timeout) but reads again after a
// timeout until the context ends, so without a deadline on the context
// (timeout: 0) an INSERT to a server that stopped answering waited
// forever, where clickhouse-go failed it after read_timeout.
type readTimeouts struct{ net.Conn }

// errNoAnswer is a read timeout as ch-go does not retry it: not a
// *net.OpError, still a net.Error whose Timeout is true.
var errNoAnswer = fmt.Errorf("no answer from the server in time: %w", os.ErrDeadlineExceeded)

func (c readTimeouts) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return n, errNoAnswer
	}
	return n, err
}

// recordColumn is one column of the block being sent, encoded from the
// records of the current chunk.
type recordColumn struct {
	kind *kind
	rows *[]callmap.Record
}

func (c recordColumn) Type() proto.ColumnType { return c.kind.nativeType }
func (c recordColumn) Rows() int              { return len(*c.rows) }

func (c recordColumn) EncodeColumn(b *proto.Buffer) { c.kind.encode(b, *c.rows) }

func (c recordColumn) WriteColumn(w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }
