// Package pgcopy moves one PostgreSQL database from a source server to a
// target server and proves that nothing was lost: it checks both servers
// before anything changes (Preflight), copies with pg_dump and pg_restore
// (Copy) or with logical replication and a short cutover (CopySchema,
// StartReplication, WaitCaughtUp, Cutover), and compares the two databases
// table by table afterwards (Verify). It measures how long writers had to
// stay stopped, and it prints nothing: every result is a value for the
// command to render.
//
// Servers are given as libpq connection strings (URL or keyword/value).
// Passwords never reach a command line or an error: pg_dump and pg_restore
// get theirs through PGPASSWORD in their own environment.
package pgcopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/jackc/pgx/v5"
)

// Options tune every step; the zero value is usable.
type Options struct {
	// BinDir holds pg_dump and pg_restore; empty means the machine's
	// PostgreSQL (pgserver.BinDir).
	BinDir string
	// Jobs is the number of parallel pg_dump and pg_restore workers;
	// 0 means one per CPU, at most 8.
	Jobs int
	// WorkDir is where the dump is written (it needs room for the whole
	// database, compressed); empty means the system's temporary folder.
	WorkDir string
	// Name names the publication, the subscription and the replication
	// slot of low-downtime mode; empty means "cosocial_migration".
	Name string
	// SourceForTarget is how the target server reaches the source, when
	// that differs from how this machine does (a private network, say);
	// empty means the source connection string itself.
	SourceForTarget string
	// TargetRole, when set, owns everything restored at the target
	// (pg_restore --role); otherwise the target login does. Owners from
	// the source are never kept: managed services do not let a customer
	// create their roles.
	TargetRole string
	// KeepPrivileges restores the source's GRANTs; every grantee must
	// then exist at the target.
	KeepPrivileges bool
	// Clean drops, before restoring, the target's objects that the dump
	// is about to create (pg_restore --clean --if-exists), so that a copy
	// can be run again, after an undone cutover, into a target that is
	// not live yet. Never set it for a target that serves anyone.
	Clean bool
	// ChecksumMaxBytes is the largest table (heap and TOAST, without
	// indexes) whose content Verify compares; 0 means 1 GiB, negative
	// means compare row counts only.
	ChecksumMaxBytes int64
	// CountMaxBytes, when above 0, is the largest table whose rows Verify
	// counts when it does not checksum it: a larger table with a primary
	// key is compared by its last key, which an index finds at once, so
	// that the check takes as long for 10 GB as for 10 MB. 0 means count
	// every table.
	CountMaxBytes int64
	// ChunkRows is how many rows Verify checksums at once, so that a
	// large table never becomes one huge string; 0 means 20,000.
	ChunkRows int
	// LargestTables is how many of the biggest tables Preflight lists;
	// 0 means 10.
	LargestTables int
	// Poll is how often replication progress is read; 0 means 50 ms.
	Poll time.Duration
	// ToolOutput, when set, receives pg_dump's and pg_restore's stderr
	// as they run, secrets removed.
	ToolOutput io.Writer
}

const defaultName = "cosocial_migration"

func (o Options) binDir() (string, error) {
	if o.BinDir != "" {
		return o.BinDir, nil
	}
	return pgserver.BinDir()
}

func (o Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return min(runtime.NumCPU(), 8)
}

func (o Options) workDir() string {
	if o.WorkDir != "" {
		return o.WorkDir
	}
	return os.TempDir()
}

func (o Options) name() string {
	if o.Name != "" {
		return o.Name
	}
	return defaultName
}

func (o Options) checksumMax() int64 {
	if o.ChecksumMaxBytes == 0 {
		return 1 << 30
	}
	return o.ChecksumMaxBytes
}

func (o Options) chunkRows() int {
	if o.ChunkRows > 0 {
		return o.ChunkRows
	}
	return 20000
}

func (o Options) largest() int {
	if o.LargestTables > 0 {
		return o.LargestTables
	}
	return 10
}

func (o Options) poll() time.Duration {
	if o.Poll > 0 {
		return o.Poll
	}
	return 50 * time.Millisecond
}

// ConnError is a failure to reach one side; DSN is already redacted.
type ConnError struct {
	Side string // "source" or "target"
	DSN  string
	Err  error
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("connecting to the %s (%s): %v", e.Side, e.DSN, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// pair is the two sides of a migration, parsed once per call.
type pair struct {
	src, dst *endpoint
	opts     Options
	secrets  redactor
}

func newPair(src, dst string, opts Options) (*pair, error) {
	s, err := parseEndpoint("source", src)
	if err != nil {
		return nil, err
	}
	d, err := parseEndpoint("target", dst)
	if err != nil {
		return nil, err
	}
	p := &pair{src: s, dst: d, opts: opts, secrets: redactor{s.password, d.password}}
	if opts.SourceForTarget != "" {
		p.secrets = append(p.secrets, passwordOf(opts.SourceForTarget))
	}
	return p, nil
}

// sessionSettings make every value print the same way on both servers,
// so that the text of a row — what Verify hashes — depends on the data
// alone and not on a server's or a role's defaults.
var sessionSettings = map[string]string{
	"application_name":   "cosocial-migrate",
	"TimeZone":           "UTC",
	"DateStyle":          "ISO, YMD",
	"IntervalStyle":      "postgres",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
	"lc_monetary":        "C",
	// Cutover counts on the target's commits being synchronous (see
	// there); a role's or database's default must not turn that off.
	"synchronous_commit": "on",
}

func (p *pair) connect(ctx context.Context, e *endpoint) (*pgx.Conn, error) {
	cfg := e.cfg.Copy()
	for k, v := range sessionSettings {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		side := "source"
		if e == p.dst {
			side = "target"
		}
		return nil, &ConnError{Side: side, DSN: Redact(e.dsn), Err: p.redact(err)}
	}
	return conn, nil
}

// both connects to the source and the target.
func (p *pair) both(ctx context.Context) (src, dst *pgx.Conn, closeFn func(), err error) {
	src, err = p.connect(ctx, p.src)
	if err != nil {
		return nil, nil, nil, err
	}
	dst, err = p.connect(ctx, p.dst)
	if err != nil {
		src.Close(ctx)
		return nil, nil, nil, err
	}
	return src, dst, func() {
		// A cancelled ctx must not keep the connections open.
		c := context.Background()
		src.Close(c)
		dst.Close(c)
	}, nil
}

func (p *pair) redact(err error) error { return redactErr(err, p.secrets...) }

// wrap names the step that failed and keeps secrets out of the message.
func (p *pair) wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		return err
	}
	return p.redact(fmt.Errorf("%s: %w", step, err))
}
