package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/pgserver"
)

// ProbeObjects is how many objects the probe reads: enough to average
// over a few round trips at the copy's width, few enough to take seconds.
const ProbeObjects = 64

// ProbeDatabaseBytes caps what the probe reads from a database.
const ProbeDatabaseBytes = 32 << 20

// Probe measures how fast the source reads: a sample of objects from the
// bucket, GET at the copy's width, and the largest table of a database
// streamed with COPY. Estimates from it are the source's side only; the
// plan says so.
func Probe(ctx context.Context, bucket *objectstore.Bucket, dsn string, width int) (Throughput, error) {
	var t Throughput
	if bucket != nil {
		ops, bps, err := probeObjects(ctx, *bucket, width)
		if err != nil {
			return t, fmt.Errorf("probing bucket %s: %w", bucket.Name, err)
		}
		t.ObjectsPerSecond, t.BytesPerSecond = ops, bps
	}
	if dsn != "" {
		bps, err := probeDatabase(ctx, dsn)
		if err != nil {
			return t, fmt.Errorf("probing the source database: %w", err)
		}
		t.DatabaseBytesPerSecond = bps
	}
	return t, nil
}

func probeObjects(ctx context.Context, b objectstore.Bucket, width int) (objectsPerSecond, bytesPerSecond float64, err error) {
	client, err := b.Client()
	if err != nil {
		return 0, 0, err
	}
	var keys []string
	for obj := range client.ListObjects(ctx, b.Name, minio.ListObjectsOptions{Recursive: true, MaxKeys: ProbeObjects}) {
		if obj.Err != nil {
			return 0, 0, obj.Err
		}
		keys = append(keys, obj.Key)
		if len(keys) == ProbeObjects {
			break
		}
	}
	if len(keys) == 0 {
		return 0, 0, nil
	}
	width = max(1, min(width, len(keys)))
	work := make(chan string)
	var mu sync.Mutex
	var total int64
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				obj, err := client.GetObject(ctx, b.Name, k, minio.GetObjectOptions{})
				var n int64
				if err == nil {
					n, err = io.Copy(io.Discard, obj)
					obj.Close()
				}
				mu.Lock()
				total += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	secs := time.Since(start).Seconds()
	return float64(len(keys)) / secs, float64(total) / secs, nil
}

func probeDatabase(ctx context.Context, dsn string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("cannot connect")
	}
	defer conn.Close(context.Background())
	var schema, table string
	err = conn.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	                          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
	                          ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 1`).Scan(&schema, &table)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	w := &countingDiscard{limit: ProbeDatabaseBytes}
	start := time.Now()
	_, err = conn.PgConn().CopyTo(ctx, w, fmt.Sprintf("COPY %s.%s TO STDOUT", pgserver.QuoteIdent(schema), pgserver.QuoteIdent(table)))
	secs := time.Since(start).Seconds()
	if err != nil && !errors.Is(err, errEnough) && ctx.Err() == nil {
		return 0, err
	}
	if w.n == 0 {
		return 0, nil
	}
	return float64(w.n) / secs, nil
}

var errEnough = errors.New("read enough")

// countingDiscard stops a COPY once it has seen enough to time it.
type countingDiscard struct {
	n, limit int64
}

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.n >= c.limit {
		return len(p), errEnough
	}
	return len(p), nil
}
