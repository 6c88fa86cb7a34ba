package pgcopy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// LSN is a position in a server's write-ahead log.
type LSN uint64

// ParseLSN reads PostgreSQL's text form, "16/B374D848".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("not an LSN: %q", s)
	}
	return LSN(h<<32 | l), nil
}

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint32(l)) }

// StartReplication makes the source publish every table and the target
// subscribe to it: the target first copies each table, then applies the
// source's changes as they happen. The target must already have the
// schema (CopySchema). Each part is skipped when it already exists, so a
// resumed run can call it again.
func StartReplication(ctx context.Context, src, dst string, opts Options) error {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := p.ensurePublication(ctx, sconn); err != nil {
		return p.wrap("publishing the source's tables", err)
	}
	return p.wrap("subscribing the target", p.ensureSubscription(ctx, sconn, dconn))
}

func (p *pair) ensurePublication(ctx context.Context, sconn *pgx.Conn) error {
	name := p.opts.name()
	var allTables bool
	err := sconn.QueryRow(ctx, `SELECT puballtables FROM pg_publication WHERE pubname = $1`, name).Scan(&allTables)
	if err == nil && allTables {
		return nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	exists := err == nil
	var super bool
	if err := sconn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return err
	}
	if !exists && super {
		_, err := sconn.Exec(ctx, `CREATE PUBLICATION `+ident(name)+` FOR ALL TABLES`)
		return err
	}
	// FOR ALL TABLES needs a superuser, which managed services do not
	// give: a table owner can still publish its tables one by one.
	tables, err := userTables(ctx, sconn)
	if err != nil {
		return err
	}
	if !exists {
		stmt := `CREATE PUBLICATION ` + ident(name)
		if len(tables) > 0 {
			stmt += ` FOR TABLE ` + joinNames(tables)
		}
		_, err := sconn.Exec(ctx, stmt)
		return err
	}
	published, err := names(ctx, sconn, `SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1`, name)
	if err != nil {
		return err
	}
	have := map[qualifiedName]bool{}
	for _, t := range published {
		have[t] = true
	}
	var add []qualifiedName
	for _, t := range tables {
		if !have[t] {
			add = append(add, t)
		}
	}
	if len(add) == 0 {
		return nil
	}
	_, err = sconn.Exec(ctx, `ALTER PUBLICATION `+ident(name)+` ADD TABLE `+joinNames(add))
	return err
}

func (p *pair) ensureSubscription(ctx context.Context, sconn, dconn *pgx.Conn) error {
	name := p.opts.name()
	sub, err := subscription(ctx, dconn, name)
	if err != nil {
		return err
	}
	subs, err := newSubscriber(ctx, dconn)
	if err != nil {
		return err
	}
	if sub.exists {
		if !sub.enabled {
			return subs.enable(ctx, name)
		}
		return nil
	}
	// A slot left by an earlier, failed attempt would make the new
	// subscription fail; it holds nothing the new one needs.
	if err := dropSlot(ctx, sconn, name, 0); err != nil {
		return err
	}
	conninfo := p.opts.SourceForTarget
	if conninfo == "" {
		conninfo = p.src.dsn
	}
	return subs.create(ctx, sconn, name, conninfo)
}

type subInfo struct {
	exists, enabled bool
	oid             uint32
}

func subscription(ctx context.Context, conn *pgx.Conn, name string) (subInfo, error) {
	var s subInfo
	err := conn.QueryRow(ctx, `SELECT oid, subenabled FROM pg_subscription
		WHERE subname = $1 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`, name).Scan(&s.oid, &s.enabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil
	}
	s.exists = err == nil
	return s, err
}

// dropSlot drops a replication slot at the source if it exists, waiting
// up to wait for a walsender still holding it to let go.
func dropSlot(ctx context.Context, sconn *pgx.Conn, slot string, wait time.Duration) error {
	if err := waitSlotIdle(ctx, sconn, slot, wait); err != nil {
		return err
	}
	_, err := sconn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, slot)
	return err
}

// waitSlotIdle waits up to wait until no walsender holds the slot; a
// slot that does not exist is idle.
func waitSlotIdle(ctx context.Context, sconn *pgx.Conn, slot string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		var active bool
		err := sconn.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !active) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replication slot %s at the source is in use by another connection", slot)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// ReplicationStatus is how far the target is behind the source.
type ReplicationStatus struct {
	Subscribed bool // the subscription exists at the target
	Enabled    bool
	// Tables are the subscribed tables; Ready those whose initial copy is
	// done; Copying names the others.
	Tables, Ready int
	Copying       []string
	// SourceLSN is where the source's WAL is now; ConfirmedLSN how far
	// the target has confirmed applying it (the slot's
	// confirmed_flush_lsn).
	SourceLSN, ConfirmedLSN LSN
	LagBytes                int64
	// AppliedLSN is where the source's last transaction applied at the
	// target ended (the subscription's replication origin; 0 when the
	// target login may not read it). It runs ahead of ConfirmedLSN: the
	// target applies with synchronous_commit off and confirms only once
	// its WAL writer has flushed, up to a second later.
	AppliedLSN LSN
	// ApplyErrors and SyncErrors count the subscription's failures
	// (PostgreSQL 15 and later): the workers retry, but a growing count
	// means a problem to look at in the target's log.
	ApplyErrors, SyncErrors int64
}

// String is the status in words, for a journal's step detail.
func (st ReplicationStatus) String() string {
	if !st.Subscribed {
		return "no subscription at the target"
	}
	s := fmt.Sprintf("%d of %d tables copied, %d bytes behind (source at %s, target confirmed %s)", st.Ready, st.Tables, st.LagBytes, st.SourceLSN, st.ConfirmedLSN)
	if !st.Enabled {
		s += ", subscription disabled"
	}
	if st.ApplyErrors+st.SyncErrors > 0 {
		s += fmt.Sprintf(", %d apply and %d sync errors", st.ApplyErrors, st.SyncErrors)
	}
	return s
}

// caughtUp says whether every table is copied and the target has applied
// the source's WAL up to lsn.
func (s ReplicationStatus) caughtUp(lsn LSN) bool {
	return s.Subscribed && s.Enabled && s.Ready == s.Tables && (s.ConfirmedLSN >= lsn || s.AppliedLSN >= lsn)
}

// Status reads the replication's progress at both ends.
func Status(ctx context.Context, src, dst string, opts Options) (ReplicationStatus, error) {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return ReplicationStatus{}, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return ReplicationStatus{}, err
	}
	defer closeFn()
	st, err := p.status(ctx, sconn, dconn)
	return st, p.wrap("reading replication status", err)
}

func (p *pair) status(ctx context.Context, sconn, dconn *pgx.Conn) (ReplicationStatus, error) {
	var st ReplicationStatus
	name := p.opts.name()
	sub, err := subscription(ctx, dconn, name)
	if err != nil {
		return st, err
	}
	st.Subscribed, st.Enabled = sub.exists, sub.enabled
	if sub.exists {
		rows, err := dconn.Query(ctx, `SELECT sr.srrelid::regclass::text, sr.srsubstate::text FROM pg_subscription_rel sr WHERE sr.srsubid = $1 ORDER BY 1`, sub.oid)
		if err != nil {
			return st, err
		}
		var rel, state string
		_, err = pgx.ForEachRow(rows, []any{&rel, &state}, func() error {
			st.Tables++
			// 's' (synchronised) is ready too: the apply worker takes the
			// table over from the LSN its copy reached.
			if state == "r" || state == "s" {
				st.Ready++
			} else {
				st.Copying = append(st.Copying, rel)
			}
			return nil
		})
		if err != nil {
			return st, err
		}
		// Reading replication origins takes a superuser until granted;
		// without it, ConfirmedLSN alone decides, later.
		var applied *string
		err = dconn.QueryRow(ctx, `SELECT remote_lsn::text FROM pg_replication_origin_status WHERE external_id = $1`, fmt.Sprintf("pg_%d", sub.oid)).Scan(&applied)
		if err == nil && applied != nil {
			if st.AppliedLSN, err = ParseLSN(*applied); err != nil {
				return st, err
			}
		} else if err != nil && !errors.Is(err, pgx.ErrNoRows) && !isPrivilegeError(err) {
			return st, err
		}
		if serverNum(dconn) >= 150000 {
			err := dconn.QueryRow(ctx, `SELECT apply_error_count, sync_error_count FROM pg_stat_subscription_stats WHERE subid = $1`, sub.oid).Scan(&st.ApplyErrors, &st.SyncErrors)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return st, err
			}
		}
	}
	var cur string
	var confirmed *string
	var lag *int64
	err = sconn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text, s.confirmed_flush_lsn::text, pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint
		FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`, name).Scan(&cur, &confirmed, &lag)
	if err != nil {
		return st, err
	}
	if st.SourceLSN, err = ParseLSN(cur); err != nil {
		return st, err
	}
	if confirmed != nil {
		if st.ConfirmedLSN, err = ParseLSN(*confirmed); err != nil {
			return st, err
		}
	}
	if lag != nil {
		st.LagBytes = max(*lag, 0)
	}
	return st, nil
}

func isPrivilegeError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501" // insufficient_privilege
}

func serverNum(conn *pgx.Conn) int {
	v := conn.PgConn().ParameterStatus("server_version")
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(strings.TrimFunc(major, func(r rune) bool { return r < '0' || r > '9' }))
	return n * 10000
}

// WaitCaughtUp waits until every table's initial copy is done and the
// target has applied everything the source had written when it was
// called. Writers may keep running.
func WaitCaughtUp(ctx context.Context, src, dst string, opts Options) (ReplicationStatus, error) {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return ReplicationStatus{}, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return ReplicationStatus{}, err
	}
	defer closeFn()
	target, err := currentLSN(ctx, sconn)
	if err != nil {
		return ReplicationStatus{}, p.wrap("reading the source's WAL position", err)
	}
	st, err := p.waitFor(ctx, sconn, dconn, target)
	return st, p.wrap("waiting for the target to catch up", err)
}

func currentLSN(ctx context.Context, conn *pgx.Conn) (LSN, error) {
	var s string
	if err := conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&s); err != nil {
		return 0, err
	}
	return ParseLSN(s)
}

func (p *pair) waitFor(ctx context.Context, sconn, dconn *pgx.Conn, lsn LSN) (ReplicationStatus, error) {
	for {
		st, err := p.status(ctx, sconn, dconn)
		if err != nil {
			return st, err
		}
		if !st.Subscribed {
			return st, ErrNotReplicating
		}
		if st.caughtUp(lsn) {
			return st, nil
		}
		if err := sleep(ctx, p.opts.poll()); err != nil {
			return st, fmt.Errorf("%w (%d of %d tables copied, %d bytes behind)", err, st.Ready, st.Tables, st.LagBytes)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SequenceValue is one sequence's state as setval takes it.
type SequenceValue struct {
	Sequence  string
	LastValue int64
	IsCalled  bool
}

// CopySequences sets every sequence at the target to its value at the
// source; logical replication copies rows, not sequences. Sequences of
// serial and identity columns are included. Setting a value twice is
// harmless, so a resumed run can redo it.
func CopySequences(ctx context.Context, src, dst string, opts Options) ([]SequenceValue, error) {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return nil, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	vals, err := copySequences(ctx, sconn, dconn)
	return vals, p.wrap("copying sequences", err)
}

func copySequences(ctx context.Context, sconn, dconn *pgx.Conn) ([]SequenceValue, error) {
	seqs, err := userSequences(ctx, sconn)
	if err != nil {
		return nil, err
	}
	vals := make([]SequenceValue, 0, len(seqs))
	batch := &pgx.Batch{}
	for _, s := range seqs {
		v := SequenceValue{Sequence: s.String()}
		if err := sconn.QueryRow(ctx, `SELECT last_value, is_called FROM `+s.sql()).Scan(&v.LastValue, &v.IsCalled); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		vals = append(vals, v)
		batch.Queue(`SELECT setval($1::regclass, $2, $3)`, s.sql(), v.LastValue, v.IsCalled)
	}
	// One round trip: at cutover every millisecond is downtime.
	if err := dconn.SendBatch(ctx, batch).Close(); err != nil {
		return nil, err
	}
	return vals, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func joinNames(ts []qualifiedName) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.sql()
	}
	return strings.Join(parts, ", ")
}
