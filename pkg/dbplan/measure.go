package dbplan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Table is one table's share of the database.
type Table struct {
	Name       string `json:"name"`
	TableBytes int64  `json:"table_bytes"`
	IndexBytes int64  `json:"index_bytes"`
	ToastBytes int64  `json:"toast_bytes"`
	Rows       int64  `json:"rows"`
	// BloatBytes estimates the free space inside the table's pages that a
	// repack would give back, from its row count and the planner's average
	// row width; 0 when the table has never been analysed.
	BloatBytes int64 `json:"bloat_bytes"`
	// IndexBloatBytes estimates the same for its B-tree indexes: leaf
	// pages beyond what their entries need at the index's fill factor.
	IndexBloatBytes int64 `json:"index_bloat_bytes"`
	DeadRows        int64 `json:"dead_rows"`
}

// RepackNeeds is the free disk pg_repack needs while it rebuilds the
// table: a new copy of the table, its TOAST and its indexes, without the
// bloat, beside the old one until the swap.
func (t Table) RepackNeeds() int64 {
	return max(0, t.TotalBytes()-t.BloatBytes-t.IndexBloatBytes)
}

// TotalBytes is the table with its indexes and TOAST.
func (t Table) TotalBytes() int64 { return t.TableBytes + t.IndexBytes + t.ToastBytes }

// Measurement is a sample with the detail behind it.
type Measurement struct {
	Database string  `json:"database"`
	Server   string  `json:"server_version"`
	Sample   Sample  `json:"sample"`
	Tables   []Table `json:"tables"`
	// BloatBytes is the estimated bloat over every table, not only the
	// largest ones listed; IndexBloatBytes over their B-tree indexes.
	BloatBytes      int64 `json:"bloat_bytes"`
	IndexBloatBytes int64 `json:"index_bloat_bytes"`
	// OtherDatabasesBytes is what the cluster's other databases hold on
	// the same disk; -1 when the role may not see them.
	OtherDatabasesBytes int64 `json:"other_databases_bytes"`
	// Notes say what could not be measured and why.
	Notes []string `json:"notes"`
}

// MeasureOptions tune a measurement.
type MeasureOptions struct {
	// Largest is how many tables to list; 10 when zero.
	Largest int
	// DiskBytes is the disk the provider gives the database, when known.
	DiskBytes int64
	Now       func() time.Time
}

// UnreachableError is a database the tool could not connect to.
type UnreachableError struct {
	Target string // host:port/database, never the password
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the database at %s: %v", e.Target, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Connect opens a connection from a DSN. The password may come from the
// DSN, PGPASSWORD or a .pgpass file (pgx reads them as libpq does); the
// error names where it tried without repeating the password.
func Connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors quote the DSN, password included.
		return nil, errors.New("the database address is not a valid PostgreSQL connection string or URL")
	}
	target := fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return nil, &UnreachableError{Target: target, Err: fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)}
		}
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) && errors.Unwrap(ce) != nil {
			return nil, &UnreachableError{Target: target, Err: errors.Unwrap(ce)}
		}
		return nil, &UnreachableError{Target: target, Err: err}
	}
	return conn, nil
}

// Measure records a sample of the connected database.
func Measure(ctx context.Context, conn *pgx.Conn, opts MeasureOptions) (*Measurement, error) {
	if opts.Largest == 0 {
		opts.Largest = 10
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	m := &Measurement{Tables: []Table{}, Notes: []string{}}
	m.Sample = Sample{Time: now().UTC().Truncate(time.Second), DiskBytes: opts.DiskBytes, WALBytes: -1, Source: "measured"}
	if err := conn.QueryRow(ctx, `SELECT current_database(), pg_database_size(current_database()), current_setting('server_version')`).
		Scan(&m.Database, &m.Sample.DatabaseBytes, &m.Server); err != nil {
		return nil, fmt.Errorf("reading the database size: %w", err)
	}
	var wal int64
	if err := conn.QueryRow(ctx, `SELECT COALESCE(sum(size), 0)::bigint FROM pg_ls_waldir()`).Scan(&wal); err != nil {
		m.Notes = append(m.Notes, "WAL size not measured: the role may not read pg_ls_waldir() (grant it pg_monitor).")
	} else {
		m.Sample.WALBytes = wal
	}

	rows, err := conn.Query(ctx, tableBloatSQL)
	if err != nil {
		return nil, fmt.Errorf("reading table sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var schema string
		var t Table
		if err := rows.Scan(&schema, &t.Name, &t.TableBytes, &t.IndexBytes, &t.ToastBytes, &t.Rows, &t.DeadRows, &t.BloatBytes, &t.IndexBloatBytes); err != nil {
			return nil, err
		}
		if schema != "public" {
			t.Name = schema + "." + t.Name
		}
		m.BloatBytes += t.BloatBytes
		m.IndexBloatBytes += t.IndexBloatBytes
		if len(m.Tables) < opts.Largest {
			m.Tables = append(m.Tables, t)
			if m.Sample.Tables == nil {
				m.Sample.Tables = map[string]int64{}
			}
			m.Sample.Tables[t.Name] = t.TotalBytes()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading table sizes: %w", err)
	}
	rows.Close()
	// The cluster's other databases fill the same disk. The maintenance
	// database and the providers' own (named with a leading _) are left
	// out: they stay small.
	var others int
	err = conn.QueryRow(ctx, `SELECT count(*), COALESCE(sum(pg_database_size(oid)), 0)::bigint FROM pg_database
		WHERE datname <> current_database() AND datallowconn AND datname NOT IN ('postgres', 'template1') AND datname NOT LIKE '\_%'`).Scan(&others, &m.OtherDatabasesBytes)
	switch {
	case err != nil:
		m.OtherDatabasesBytes = -1
		m.Notes = append(m.Notes, "The cluster's other databases, which share its disk, could not be measured (the role may not connect to them; pg_monitor can).")
	case others > 0:
		what := fmt.Sprintf("%d other databases on this cluster hold", others)
		if others == 1 {
			what = "1 other database on this cluster holds"
		}
		m.Notes = append(m.Notes, fmt.Sprintf("%s %s and shares its disk; this sample and the forecast count %s alone.", what, objectstore.HumanBytes(m.OtherDatabasesBytes), m.Database))
	}
	return m, nil
}

// tableBloatSQL lists every table, largest first, with its sizes and the
// estimated bloat of its heap and of its B-tree indexes, the way the
// widely used estimates of check_postgres and ioguix's pgsql-bloat-
// estimation compute it from the planner's statistics: a row's size is
// its 23-byte header with the null bitmap, padded to MAXALIGN, plus its
// columns' average widths weighted by how often they are not null, padded
// too, plus a 4-byte line pointer; a page holds what fits after its
// 24-byte header at the table's fill factor. An index entry is its 8-byte
// header (and null bitmap) and its columns, padded likewise, on pages
// that also keep 16 bytes of B-tree data, at the index's fill factor (90
// unless set); the metapage is not bloat. Tables never analysed show none.
const tableBloatSQL = `
WITH settings AS (
  SELECT current_setting('block_size')::numeric AS bs, 8 AS ma, 24 AS pagehdr
), cols AS (
  SELECT s.schemaname, s.tablename, s.attname, s.null_frac, s.avg_width
  FROM pg_stats s
), heap AS (
  SELECT c.oid, n.nspname, c.relname, c.relpages::numeric AS relpages, GREATEST(c.reltuples, 0)::numeric AS tuples,
         COALESCE(c.reltoastrelid, 0) AS toast,
         COALESCE(substring(array_to_string(c.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 100) AS ff,
         23 + CASE WHEN max(COALESCE(st.null_frac, 0)) > 0 THEN (7 + count(a.attname)) / 8 ELSE 0 END AS hdr,
         sum((1 - COALESCE(st.null_frac, 0)) * COALESCE(st.avg_width, 0)) AS datawidth,
         count(st.attname) AS analysed,
         COALESCE(max(u.n_dead_tup), 0) AS dead
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN cols st ON st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = a.attname
  LEFT JOIN pg_stat_user_tables u ON u.relid = c.oid
  WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  GROUP BY c.oid, n.nspname, c.relname, c.relpages, c.reltuples, c.reltoastrelid, c.reloptions
), heap_est AS (
  SELECT h.*, s.bs,
         4 + h.hdr + s.ma - CASE WHEN h.hdr % s.ma = 0 THEN s.ma ELSE h.hdr % s.ma END
           + h.datawidth + s.ma - CASE WHEN ceil(h.datawidth)::int % s.ma = 0 THEN s.ma ELSE ceil(h.datawidth)::int % s.ma END AS tplsize,
         s.pagehdr
  FROM heap h, settings s
), idx AS (
  SELECT i.indrelid AS tbl, ic.oid AS idx, ic.relpages::numeric AS relpages, GREATEST(ic.reltuples, 0)::numeric AS tuples,
         COALESCE(substring(array_to_string(ic.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::smallint, 90) AS ff,
         CASE WHEN max(COALESCE(st.null_frac, 0)) = 0 THEN 8 ELSE 8 + (32 + 8 - 1) / 8 END AS hdr,
         sum((1 - COALESCE(st.null_frac, 0)) * COALESCE(st.avg_width, 1024)) AS datawidth,
         bool_and(st.attname IS NOT NULL) AS analysed
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
  JOIN pg_class tc ON tc.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = tc.relnamespace
  JOIN LATERAL unnest(i.indkey) AS k(attnum) ON true
  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  LEFT JOIN cols st ON st.schemaname = n.nspname AND st.tablename = tc.relname AND st.attname = a.attname
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  GROUP BY i.indrelid, ic.oid, ic.relpages, ic.reltuples, ic.reloptions
), idx_est AS (
  SELECT x.tbl, x.relpages, x.tuples, x.ff, x.analysed, s.bs,
         x.hdr + s.ma - CASE WHEN x.hdr % s.ma = 0 THEN s.ma ELSE x.hdr % s.ma END
           + x.datawidth + s.ma - CASE WHEN x.datawidth = 0 THEN 0 WHEN x.datawidth::int % s.ma = 0 THEN s.ma ELSE x.datawidth::int % s.ma END AS entry,
         s.pagehdr
  FROM idx x, settings s
), idx_bloat AS (
  SELECT tbl, sum(CASE WHEN NOT analysed OR tuples = 0 THEN 0
                       ELSE GREATEST(0, relpages - 1 - ceil(tuples / floor((bs - pagehdr - 16) * ff / (100 * (4 + entry))))) * bs END) AS bytes
  FROM idx_est GROUP BY tbl
)
SELECT h.nspname, h.relname,
       pg_relation_size(h.oid)::bigint,
       pg_indexes_size(h.oid)::bigint,
       CASE WHEN h.toast = 0 THEN 0 ELSE pg_total_relation_size(h.toast) END::bigint,
       h.tuples::bigint, h.dead::bigint,
       CASE WHEN h.analysed = 0 OR h.tuples = 0 THEN 0
            ELSE GREATEST(0, h.relpages - ceil(h.tuples / floor((h.bs - h.pagehdr) * h.ff / (100 * h.tplsize)))) * h.bs END::bigint,
       COALESCE(ib.bytes, 0)::bigint
FROM heap_est h
LEFT JOIN idx_bloat ib ON ib.tbl = h.oid
ORDER BY pg_total_relation_size(h.oid) DESC`
