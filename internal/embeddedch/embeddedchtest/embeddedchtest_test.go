package embeddedchtest

import (
	"context"
	"os"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

func TestDatabaseRoundTrip(t *testing.T) {
	db := Database(t)
	conn, err := clickhouse.Open(Options())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	require.NoError(t, conn.Exec(ctx, "CREATE TABLE `"+db+"`.t (id UInt64, name String) ENGINE = MergeTree ORDER BY id"))
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO `"+db+"`.t")
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, batch.Append(uint64(i), "n"))
	}
	require.NoError(t, batch.Send())
	var n, sum uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(), sum(id) FROM `"+db+"`.t").Scan(&n, &sum))
	require.Equal(t, uint64(10), n)
	require.Equal(t, uint64(45), sum)
}
