package weaveclickhouseexporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestClassify(t *testing.T) {
	// A real refused connection: a port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, refused := net.Dial("tcp", addr)
	require.Error(t, refused)

	exc := func(code int32) error {
		return fmt.Errorf("wrapped: %w", &clickhouse.Exception{Code: code, Name: "DB::Exception", Message: "m"})
	}
	chExc := func(code int) error {
		return fmt.Errorf("send input: %w", &ch.Exception{Code: proto.Error(code), Name: "DB::Exception", Message: "m"})
	}
	cases := []struct {
		name      string
		err       error
		permanent bool
		want      string
	}{
		{"wrong password", exc(516), true, "authentication failed"},
		{"unknown database", exc(81), true, "unknown database"},
		{"unknown table", exc(60), true, "unknown table"},
		{"type mismatch", exc(53), true, "type mismatch"},
		{"missing column", exc(16), true, "schema mismatch"},
		{"readonly user", exc(164), true, "access denied"},
		{"unknown setting", exc(115), true, "unknown setting"},
		{"setting forbidden by the profile", exc(452), true, "setting not allowed"},
		{"ch-go: check constraint", chExc(469), true, "constraint violated"},
		{"too many parts", exc(252), false, "ClickHouse at"},
		{"memory limit", exc(241), false, "ClickHouse at"},
		// Native INSERTs report server errors through ch-go.
		{"ch-go: missing column", chExc(16), true, "schema mismatch"},
		{"ch-go: unknown database", chExc(81), true, "unknown database"},
		{"ch-go: too many parts", chExc(252), false, "ClickHouse at"},
		{"connection refused", refused, false, "connection refused"},
		{"timeout", context.DeadlineExceeded, false, "timeout"},
		{"other", errors.New("boom"), false, "boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := classify("insert calls", "h:9000", tc.err)
			require.Error(t, got)
			assert.Equal(t, tc.permanent, consumererror.IsPermanent(got))
			assert.Contains(t, got.Error(), tc.want)
			assert.Contains(t, got.Error(), "insert calls")
			assert.ErrorIs(t, got, tc.err, "the cause stays inspectable")
		})
	}
	assert.NoError(t, classify("x", "h", nil))
}
