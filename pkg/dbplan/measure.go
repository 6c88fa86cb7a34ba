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
	DeadRows   int64 `json:"dead_rows"`
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
	// largest ones listed.
	BloatBytes int64 `json:"bloat_bytes"`
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

	// The estimated bloat of a table is its pages beyond what its rows
	// need at the planner's average width (24-byte header and a 4-byte
	// line pointer each), the approach of the widely used check_postgres
	// estimate, simplified: it reads low for tables with many nulls.
	rows, err := conn.Query(ctx, `
WITH widths AS (
  SELECT schemaname, tablename, sum(avg_width) AS width
  FROM pg_stats GROUP BY schemaname, tablename
), t AS (
  SELECT c.oid, n.nspname, c.relname, c.relpages::bigint AS relpages, GREATEST(c.reltuples, 0)::bigint AS tuples,
         COALESCE(c.reltoastrelid, 0) AS toast, w.width,
         COALESCE(s.n_dead_tup, 0) AS dead,
         current_setting('block_size')::bigint AS bs
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN widths w ON w.schemaname = n.nspname AND w.tablename = c.relname
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
  WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
)
SELECT nspname, relname,
       pg_relation_size(oid)::bigint,
       pg_indexes_size(oid)::bigint,
       CASE WHEN toast = 0 THEN 0 ELSE pg_total_relation_size(toast) END::bigint,
       tuples, dead,
       CASE WHEN width IS NULL OR tuples = 0 THEN 0
            ELSE GREATEST(0, relpages - ceil(tuples / floor((bs - 24) / (24 + 4 + width)))) * bs END::bigint
FROM t
ORDER BY pg_total_relation_size(oid) DESC`)
	if err != nil {
		return nil, fmt.Errorf("reading table sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var schema string
		var t Table
		if err := rows.Scan(&schema, &t.Name, &t.TableBytes, &t.IndexBytes, &t.ToastBytes, &t.Rows, &t.DeadRows, &t.BloatBytes); err != nil {
			return nil, err
		}
		if schema != "public" {
			t.Name = schema + "." + t.Name
		}
		m.BloatBytes += t.BloatBytes
		if len(m.Tables) < opts.Largest {
			m.Tables = append(m.Tables, t)
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
