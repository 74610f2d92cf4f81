package integration

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callhouse/callhouse/internal/callmap"
	"github.com/callhouse/callhouse/internal/embeddedch/embeddedchtest"
)

// variedRecords are n calls whose optional and LowCardinality fields
// vary from row to row, so that a value written in one block of an INSERT
// cannot stand in for the next block's.
func variedRecords(n int) []callmap.Record {
	recs := make([]callmap.Record, n)
	for i := range recs {
		r := record(i/10, i%10, 1)
		r.Model = fmt.Sprintf("model-%d", i%7)
		if i%2 == 1 {
			r.WBUserID = ""
		}
		if i%3 == 0 {
			r.Status, r.HasCost, r.CostUSD = callmap.StatusRunning, false, 0
		}
		if i%5 == 0 {
			r.ParentID, r.Inputs = "", ""
		}
		recs[i] = r
	}
	return recs
}

// TestLargeBatch writes a batch larger than one block of the exporter's
// INSERT (it goes in several blocks) and reads every call back; the
// INSERT stays one part.
func TestLargeBatch(t *testing.T) {
	for name, endpoint := range map[string]string{"native": "", "http": httpEndpoint()} {
		t.Run(name, func(t *testing.T) {
			db := embeddedchtest.Database(t)
			cfg := testConfig(db)
			if endpoint != "" {
				cfg.Endpoint = endpoint
			}
			exp := startExporter(t, cfg, nil)
			recs := variedRecords(5_000)
			require.NoError(t, exp.ConsumeTraces(context.Background(), annotatedTraces(recs...)))

			conn := connectShared(t)
			got := readCalls(t, conn, db, "")
			require.Len(t, got, len(recs))
			for i := range recs {
				require.Equal(t, asStored(recs[i]), got[i], "call %d", i)
			}
			parts := count(t, conn, "SELECT count() FROM system.parts WHERE database = ? AND table = 'call_versions' AND active", db)
			assert.Equal(t, uint64(1), parts, "one INSERT, one part")
		})
	}
}

// TestRowsStoredOnce: an INSERT sends each call of its batch once, at
// batch sizes below, at and above one block. optimize_on_insert=0 (the
// exporter's default query setting) keeps the server from collapsing a
// call sent twice in one INSERT, which would hide it: call_versions then
// holds what was sent.
func TestRowsStoredOnce(t *testing.T) {
	for name, endpoint := range map[string]string{"native": "clickhouse://" + embeddedchtest.Addr(), "http": httpEndpoint()} {
		for _, n := range []int{1, 10, 256, 257, 600} { // the exporter sends blocks of 256
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				db := embeddedchtest.Database(t)
				cfg := testConfig(db)
				cfg.Endpoint = endpoint
				exp := startExporter(t, cfg, nil)
				require.NoError(t, exp.ConsumeTraces(context.Background(), annotatedTraces(variedRecords(n)...)))
				assert.Equal(t, uint64(n), count(t, connectShared(t), "SELECT count() FROM `"+db+"`.call_versions"))
			})
		}
	}
}

// TestLargeCallsMemory: a batch of large calls (200 KB of input each, 100
// MB in all) is stored whole, and the native connection does not keep
// buffers the size of 256 of them afterwards: its blocks end at about a
// MiB (+99 MB of heap in use after the INSERT when blocks were 256 calls
// whatever their size, +2 MB with the bound).
func TestLargeCallsMemory(t *testing.T) {
	db := embeddedchtest.Database(t)
	cfg := testConfig(db)
	cfg.Endpoint += "?optimize_on_insert=0"
	exp := startExporter(t, cfg, nil)
	recs := benchRecords(512, 0)
	rnd := rand.New(rand.NewPCG(1, 2)) // incompressible: lz4 does not shrink the block
	for i := range recs {
		doc := make([]byte, 100_000)
		for j := range doc {
			doc[j] = byte(rnd.Uint32())
		}
		recs[i].Inputs = `{"doc":"` + hex.EncodeToString(doc) + `"}`
	}
	td := annotatedTraces(recs...)
	recs = nil

	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	before := m.HeapInuse
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	runtime.GC()
	runtime.ReadMemStats(&m)
	runtime.KeepAlive(td)
	assert.Less(t, int64(m.HeapInuse)-int64(before), int64(32<<20), "heap kept after the INSERT")
	assert.Equal(t, uint64(512), count(t, connectShared(t), "SELECT count() FROM `"+db+"`.call_versions"))
}
