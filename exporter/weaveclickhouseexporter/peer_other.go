//go:build !unix

package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import "net"

// closedByPeer cannot tell here; the ping after pingAfter still checks an
// idle connection.
func closedByPeer(net.Conn) bool { return false }
