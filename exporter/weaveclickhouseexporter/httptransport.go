package weaveclickhouseexporter // import "github.com/callhouse/callhouse/exporter/weaveclickhouseexporter"

import (
	"io"
	"net/http"
)

// closeOnError is clickhouse-go's HTTP transport, closing the connection of
// every answer other than 200 once its body is read instead of keeping it
// idle. clickhouse-go v2.50 drops a connection whose first query fails (a
// wrong password, a user without access) without closing its transport, so
// that keep-alive TCP connection would stay open for conn_max_lifetime (an
// hour by default): one more on both ends for every batch a misconfigured
// exporter tries. Errors are rare on a healthy connection; the next query
// reconnects.
func closeOnError(t *http.Transport) (http.RoundTripper, error) { return errorClosing{t}, nil }

type errorClosing struct{ *http.Transport }

func (t errorClosing) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.Transport.RoundTrip(req)
	if err != nil || resp.StatusCode == http.StatusOK {
		return resp, err
	}
	resp.Body = closingBody{resp.Body, t.Transport}
	return resp, nil
}

// closingBody closes its transport's idle connections when it is closed:
// its own connection is idle by then.
type closingBody struct {
	io.ReadCloser
	t *http.Transport
}

func (b closingBody) Close() error {
	err := b.ReadCloser.Close()
	b.t.CloseIdleConnections()
	return err
}
