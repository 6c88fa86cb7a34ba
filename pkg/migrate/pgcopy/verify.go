package pgcopy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ChecksumState is the outcome of comparing one table's content.
type ChecksumState string

const (
	ChecksumEqual     ChecksumState = "equal"
	ChecksumDifferent ChecksumState = "different"
	// SkippedTooLarge: the table is larger than Options.ChecksumMaxBytes;
	// only row counts were compared.
	SkippedTooLarge ChecksumState = "skipped: too large"
	// SkippedNoKey: without a primary key rows have no order both sides
	// agree on; only row counts were compared.
	SkippedNoKey ChecksumState = "skipped: no primary key"
	// LastKeyEqual: the table is larger than Options.CountMaxBytes; its
	// last primary key is the same at both ends, and its rows were not
	// counted (SourceRows and TargetRows are -1). A different last key is
	// ChecksumDifferent.
	LastKeyEqual ChecksumState = "last key equal"
	// MissingAtTarget: the table does not exist at the target.
	MissingAtTarget ChecksumState = "missing at target"
)

// TableCheck compares one table.
type TableCheck struct {
	Table                  string
	SourceRows, TargetRows int64
	Bytes                  int64 // at the source, heap and TOAST
	Checksum               ChecksumState
	// SourceLastKey and TargetLastKey are the last primary keys compared
	// instead of counting (see LastKeyEqual), as text.
	SourceLastKey, TargetLastKey string `json:",omitempty"`
	// Chunks is how many primary-key ranges were hashed, Different how
	// many of them differed: a hint at how much is wrong.
	Chunks, DifferentChunks int
}

// Equal says whether the table may be trusted at the target.
func (t TableCheck) Equal() bool {
	return t.Checksum != MissingAtTarget && t.Checksum != ChecksumDifferent && t.SourceRows == t.TargetRows
}

// SequenceCheck compares one sequence by the value nextval would hand out
// next on each side.
type SequenceCheck struct {
	Sequence       string
	Source, Target int64
	Missing        bool // not at the target
	// OK: the target will never hand out a value the source already did.
	OK bool
}

// Verification is Verify's result.
type Verification struct {
	Tables    []TableCheck
	Sequences []SequenceCheck
	Duration  time.Duration
}

// Equal says whether every table and sequence checked out.
func (v Verification) Equal() bool { return len(v.Different()) == 0 }

// Different names the tables and sequences that did not check out.
func (v Verification) Different() []string {
	var out []string
	for _, t := range v.Tables {
		if !t.Equal() {
			out = append(out, t.Table)
		}
	}
	for _, s := range v.Sequences {
		if !s.OK {
			out = append(out, s.Sequence)
		}
	}
	return out
}

// Verify compares every table of the source with the target: row counts
// always, and for tables up to Options.ChecksumMaxBytes a hash of their
// content computed by each server, range of primary keys by range. Run it
// with writers stopped, or the sides differ by what was written meanwhile.
func Verify(ctx context.Context, src, dst string, opts Options) (Verification, error) {
	start := time.Now()
	var v Verification
	p, err := newPair(src, dst, opts)
	if err != nil {
		return v, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return v, err
	}
	defer closeFn()
	// One snapshot per side: counts and hashes of a table agree with
	// each other even if something writes meanwhile.
	for _, c := range []*pgx.Conn{sconn, dconn} {
		if _, err := c.Exec(ctx, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`); err != nil {
			return v, p.wrap("starting a snapshot", err)
		}
	}
	tables, err := userTables(ctx, sconn)
	if err != nil {
		return v, p.wrap("listing the source's tables", err)
	}
	for _, t := range tables {
		tc, err := p.checkTable(ctx, sconn, dconn, t)
		if err != nil {
			return v, p.wrap("checking "+t.String(), err)
		}
		v.Tables = append(v.Tables, tc)
	}
	seqs, err := userSequences(ctx, sconn)
	if err != nil {
		return v, p.wrap("listing the source's sequences", err)
	}
	for _, s := range seqs {
		sc, err := checkSequence(ctx, sconn, dconn, s)
		if err != nil {
			return v, p.wrap("checking "+s.String(), err)
		}
		v.Sequences = append(v.Sequences, sc)
	}
	v.Duration = time.Since(start)
	return v, nil
}

type keyColumn struct {
	name, typ  string
	collatable bool
}

func (p *pair) checkTable(ctx context.Context, sconn, dconn *pgx.Conn, t qualifiedName) (TableCheck, error) {
	tc := TableCheck{Table: t.String()}
	var exists bool
	if err := dconn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t.sql()).Scan(&exists); err != nil {
		return tc, err
	}
	if err := sconn.QueryRow(ctx, `SELECT pg_table_size($1::regclass)`, t.sql()).Scan(&tc.Bytes); err != nil {
		return tc, err
	}
	if !exists {
		tc.Checksum = MissingAtTarget
		tc.TargetRows = -1
		return tc, sconn.QueryRow(ctx, `SELECT count(*) FROM `+t.sql()).Scan(&tc.SourceRows)
	}
	key, err := primaryKey(ctx, sconn, t)
	if err != nil {
		return tc, err
	}
	switch {
	case len(key) == 0:
		tc.Checksum = SkippedNoKey
	case p.opts.checksumMax() < 0 || tc.Bytes > p.opts.checksumMax():
		tc.Checksum = SkippedTooLarge
	}
	if tc.Checksum == SkippedTooLarge && p.opts.CountMaxBytes > 0 && tc.Bytes > p.opts.CountMaxBytes {
		return tc, lastKeys(ctx, sconn, dconn, t, key, &tc)
	}
	if tc.Checksum != "" {
		count := `SELECT count(*) FROM ` + t.sql()
		err := onBoth(
			func() error { return sconn.QueryRow(ctx, count).Scan(&tc.SourceRows) },
			func() error { return dconn.QueryRow(ctx, count).Scan(&tc.TargetRows) })
		return tc, err
	}

	const alias = `cosocial_row`
	var cols, types, order []string
	for _, k := range key {
		col := alias + "." + ident(k.name)
		if k.collatable {
			// Byte order: the two servers' collations may sort text
			// differently, and the ranges must hold the same rows.
			col += ` COLLATE "C"`
		}
		cols = append(cols, col)
		types = append(types, k.typ)
		order = append(order, col)
	}
	tuple := func(c []string) string {
		if len(c) == 1 {
			return c[0]
		}
		return "(" + strings.Join(c, ", ") + ")"
	}
	params := func(first int) string {
		ps := make([]string, len(types))
		for i, typ := range types {
			ps[i] = fmt.Sprintf("$%d::text::%s", first+i, typ)
		}
		return tuple(ps)
	}
	keyText := make([]string, len(key))
	for i, k := range key {
		keyText[i] = alias + "." + ident(k.name) + "::text"
	}
	from := ` FROM ` + t.sql() + ` ` + alias
	orderBy := ` ORDER BY ` + strings.Join(order, ", ")
	rows := p.opts.chunkRows()

	var lo []any
	for {
		// The next boundary: the key chunkRows rows further on, at the
		// source. Keys travel as text and are cast back to their type.
		where, args := "", []any{}
		if lo != nil {
			where, args = ` WHERE `+tuple(cols)+` > `+params(1), lo
		}
		hi := make([]any, len(key))
		hiPtrs := make([]any, len(key))
		for i := range hi {
			hiPtrs[i] = new(string)
		}
		err := sconn.QueryRow(ctx, `SELECT `+strings.Join(keyText, ", ")+from+where+orderBy+fmt.Sprintf(` OFFSET %d LIMIT 1`, rows-1), args...).Scan(hiPtrs...)
		last := errors.Is(err, pgx.ErrNoRows)
		if err != nil && !last {
			return tc, err
		}
		if !last {
			for i := range hi {
				hi[i] = *hiPtrs[i].(*string)
			}
		}

		var conds []string
		var chunkArgs []any
		if lo != nil {
			conds = append(conds, tuple(cols)+` > `+params(1))
			chunkArgs = append(chunkArgs, lo...)
		}
		if !last {
			conds = append(conds, tuple(cols)+` <= `+params(len(chunkArgs)+1))
			chunkArgs = append(chunkArgs, hi...)
		}
		q := `SELECT count(*), coalesce(md5(string_agg(md5((` + alias + `.*)::text), ''` + orderBy + `)), '')` + from
		if len(conds) > 0 {
			q += ` WHERE ` + strings.Join(conds, " AND ")
		}
		var sn, dn int64
		var sh, dh string
		err = onBoth(
			func() error { return sconn.QueryRow(ctx, q, chunkArgs...).Scan(&sn, &sh) },
			func() error { return dconn.QueryRow(ctx, q, chunkArgs...).Scan(&dn, &dh) })
		if err != nil {
			return tc, err
		}
		tc.SourceRows += sn
		tc.TargetRows += dn
		tc.Chunks++
		if sn != dn || sh != dh {
			tc.DifferentChunks++
		}
		if last {
			break
		}
		lo = hi
	}
	tc.Checksum = ChecksumEqual
	if tc.DifferentChunks > 0 {
		tc.Checksum = ChecksumDifferent
	}
	return tc, nil
}

// onBoth runs a query on each side at once: the two servers are
// different machines and each side's time is mostly waiting.
// lastKeys compares a table by its greatest primary key at both ends:
// with the writers stopped, a target that has every row has that one.
func lastKeys(ctx context.Context, sconn, dconn *pgx.Conn, t qualifiedName, key []keyColumn, tc *TableCheck) error {
	cols := make([]string, len(key))
	desc := make([]string, len(key))
	for i, k := range key {
		cols[i] = ident(k.name)
		desc[i] = ident(k.name) + " DESC"
	}
	q := `SELECT row(` + strings.Join(cols, ", ") + `)::text FROM ` + t.sql() + ` ORDER BY ` + strings.Join(desc, ", ") + ` LIMIT 1`
	var src, dst *string
	err := onBoth(
		func() error { return ignoreNoRows(sconn.QueryRow(ctx, q).Scan(&src)) },
		func() error { return ignoreNoRows(dconn.QueryRow(ctx, q).Scan(&dst)) })
	if err != nil {
		return err
	}
	str := func(p *string) string {
		if p == nil {
			return "(no rows)"
		}
		return *p
	}
	tc.SourceRows, tc.TargetRows = -1, -1
	tc.SourceLastKey, tc.TargetLastKey = str(src), str(dst)
	tc.Checksum = LastKeyEqual
	if tc.SourceLastKey != tc.TargetLastKey {
		tc.Checksum = ChecksumDifferent
	}
	return nil
}

func ignoreNoRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

func onBoth(src, dst func() error) error {
	var wg sync.WaitGroup
	var derr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		derr = dst()
	}()
	serr := src()
	wg.Wait()
	return errors.Join(serr, derr)
}

func primaryKey(ctx context.Context, conn *pgx.Conn, t qualifiedName) ([]keyColumn, error) {
	rows, err := conn.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), ty.typcollation <> 0
		FROM pg_index i
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		JOIN pg_type ty ON ty.oid = a.atttypid
		WHERE i.indrelid = $1::regclass AND i.indisprimary
		ORDER BY k.ord`, t.sql())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (keyColumn, error) {
		var k keyColumn
		return k, r.Scan(&k.name, &k.typ, &k.collatable)
	})
}

func checkSequence(ctx context.Context, sconn, dconn *pgx.Conn, s qualifiedName) (SequenceCheck, error) {
	sc := SequenceCheck{Sequence: s.String()}
	var inc int64
	var err error
	if sc.Source, inc, err = nextValue(ctx, sconn, s); err != nil {
		return sc, err
	}
	var exists bool
	if err := dconn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.sql()).Scan(&exists); err != nil {
		return sc, err
	}
	if !exists {
		sc.Missing = true
		return sc, nil
	}
	if sc.Target, _, err = nextValue(ctx, dconn, s); err != nil {
		return sc, err
	}
	sc.OK = sc.Target >= sc.Source
	if inc < 0 {
		sc.OK = sc.Target <= sc.Source
	}
	return sc, nil
}

// nextValue is what nextval would return, without calling it.
func nextValue(ctx context.Context, conn *pgx.Conn, s qualifiedName) (next, increment int64, err error) {
	var last int64
	var called bool
	err = conn.QueryRow(ctx, `SELECT last_value, is_called, (SELECT seqincrement FROM pg_sequence WHERE seqrelid = $1::regclass) FROM `+s.sql(), s.sql()).
		Scan(&last, &called, &increment)
	if err != nil {
		return 0, 0, err
	}
	if called {
		return last + increment, increment, nil
	}
	return last, increment, nil
}
