//go:build unix

package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"errors"
	"net"
	"syscall"
)

// closedByPeer reports whether the other side has closed the idle
// connection conn, or sent it something: between INSERTs the server sends
// nothing, so anything to read means the connection is over or out of
// step. It peeks at the socket without waiting (one system call), as
// clickhouse-go checked its pooled connections before reusing them.
func closedByPeer(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false // cannot tell; the ping after pingAfter still checks
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read (EAGAIN) is the one answer of a live idle
		// connection; n == 0 without error is the end of the stream.
		closed = n > 0 || (!errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK))
		return true
	})
	return err != nil || closed
}
