//go:build unix

package weaveclickhouseexporter

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClosedByPeer: an idle connection is live while the other side keeps
// it open and sends nothing; closed, or with something to read, it is not.
func TestClosedByPeer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		peer   func(net.Conn)
		closed bool
		sent   []byte // by the peer, still to be read after the check
	}{
		{"idle", func(net.Conn) {}, false, nil},
		{"closed by the peer", func(c net.Conn) { _ = c.Close() }, true, nil},
		{"data from the peer", func(c net.Conn) { _, _ = c.Write([]byte{1}) }, true, []byte{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer func() { _ = l.Close() }()
			conn, err := net.Dial("tcp", l.Addr().String())
			require.NoError(t, err)
			defer func() { _ = conn.Close() }()
			peer, err := l.Accept()
			require.NoError(t, err)
			defer func() { _ = peer.Close() }()

			tc.peer(peer)
			// What the peer did reaches this side at some point; until
			// then the connection still looks live.
			if tc.closed {
				require.Eventually(t, func() bool { return closedByPeer(conn) }, 5*time.Second, time.Millisecond)
			} else {
				assert.False(t, closedByPeer(conn))
			}
			// The check only peeks: what was sent is still there to read.
			if tc.sent != nil {
				b := make([]byte, len(tc.sent))
				_, err := io.ReadFull(conn, b)
				require.NoError(t, err)
				assert.Equal(t, tc.sent, b)
			}
		})
	}
}
