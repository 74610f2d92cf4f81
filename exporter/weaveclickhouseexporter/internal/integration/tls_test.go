package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir, as PEM files; the certificate is its own CA.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "callhouse test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

// newTLSProxy serves TLS with certFile/keyFile on a loopback port and
// forwards the plain stream to addr: the embedded server has no TLS
// listener (clickhouse-local starts only TCP and HTTP), so TLS ends here,
// in front of it.
func newTLSProxy(t *testing.T, addr, certFile, keyFile string, accepted *atomic.Int64) string {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	var conns sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); conns.Wait() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			out, err := net.Dial("tcp", addr)
			if err != nil {
				_ = in.Close()
				continue
			}
			conns.Go(func() { _, _ = io.Copy(out, in); _ = out.Close() })
			conns.Go(func() { _, _ = io.Copy(in, out); _ = in.Close() })
		}
	}()
	return l.Addr().String()
}

// TestTLS: over TLS, the schema (clickhouse-go) and the INSERTs (ch-go)
// go through with the server's CA configured (tls.ca_file) or with
// secure=true&skip_verify=true in the DSN, and a certificate the exporter
// cannot verify is a permanent error that says so.
func TestTLS(t *testing.T) {
	db := embeddedchtest.Database(t)
	certFile, keyFile := writeCert(t, t.TempDir())
	var accepted atomic.Int64
	secureAddr := newTLSProxy(t, embeddedchtest.Addr(), certFile, keyFile, &accepted)
	for i, tc := range []struct {
		name      string
		endpoint  string
		caFile    string
		permanent string // the error, if any
	}{
		{"ca_file", "clickhouse://" + secureAddr, certFile, ""},
		{"secure=true&skip_verify=true", "clickhouse://" + secureAddr + "?secure=true&skip_verify=true", "", ""},
		{"unknown CA", "clickhouse://" + secureAddr + "?secure=true", "", "TLS certificate rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(db)
			cfg.Endpoint = tc.endpoint
			cfg.CreateSchema = tc.permanent == ""
			if tc.caFile != "" {
				cfg.TLS.Insecure = false
				cfg.TLS.CAFile = tc.caFile
			}
			exp := startExporter(t, cfg, nil)
			before := accepted.Load()
			for b := range 2 { // the second INSERT reuses the connection
				err := exp.ConsumeTraces(context.Background(), annotatedTraces(batchOf(2*i+b, 300)...))
				if tc.permanent == "" {
					require.NoError(t, err)
					continue
				}
				require.Error(t, err)
				assert.True(t, consumererror.IsPermanent(err), "%v", err)
				assert.Contains(t, err.Error(), tc.permanent)
			}
			if tc.permanent == "" {
				assert.Equal(t, int64(1), accepted.Load()-before, "one connection for both INSERTs")
			}
		})
	}
	assert.Equal(t, uint64(1200), count(t, connectShared(t), "SELECT count() FROM `"+db+"`.calls"))
}
