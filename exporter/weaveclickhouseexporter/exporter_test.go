package weaveclickhouseexporter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// selfSigned is a server certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestBoundWrites: a server that accepts (and shakes hands) but never
// reads makes a write fail at the bound instead of blocking for ever, and
// the connection still offers the driver its liveness check.
func TestBoundWrites(t *testing.T) {
	cert, pool := selfSigned(t)
	tests := []struct {
		name string
		tls  bool
	}{{"plain", false}, {"tls", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				if tt.tls {
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
					_ = tc.Handshake()
				}
				accepted <- c // held open, never read
			}()

			opts := &clickhouse.Options{DialTimeout: 5 * time.Second}
			if tt.tls {
				// No ServerName: inferred from the address, as the driver does.
				opts.TLS = &tls.Config{RootCAs: pool}
			}
			boundWrites(opts, 100*time.Millisecond)
			conn, err := opts.DialContext(context.Background(), ln.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			server := <-accepted
			require.NotNil(t, server)
			defer server.Close()

			if tt.tls {
				require.IsType(t, &tls.Conn{}, conn)
				_, ok := conn.(*tls.Conn).NetConn().(syscall.Conn)
				assert.True(t, ok, "the driver's liveness check reaches the socket under TLS")
			} else {
				_, ok := conn.(syscall.Conn)
				assert.True(t, ok, "the driver's liveness check reaches the socket")
			}

			buf := make([]byte, 1<<20)
			for range 1024 { // far more than socket buffers hold
				if _, err = conn.Write(buf); err != nil {
					break
				}
			}
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
		})
	}
}

// TestCloseWithin: a close that returns is waited for and its error kept;
// one that hangs (clickhouse-go's pool can, issue #1990) is left behind
// after the bound or when the shutdown context ends.
func TestCloseWithin(t *testing.T) {
	closed := errors.New("closed with an error")
	hang := make(chan struct{})
	defer close(hang)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		closeFn func() error
		want    error
	}{
		{"returns", context.Background(), func() error { return nil }, nil},
		{"returns an error", context.Background(), func() error { return closed }, closed},
		{"hangs", context.Background(), func() error { <-hang; return nil }, errCloseHung},
		{"hangs, shutdown cancelled", cancelled, func() error { <-hang; return nil }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := closeWithin(tc.ctx, 50*time.Millisecond, tc.closeFn)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}
