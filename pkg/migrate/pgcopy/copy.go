package pgcopy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// CopyResult is what a dump and restore took. Writers must stay stopped
// for all of it, so Freeze is the whole run.
type CopyResult struct {
	Dump, Restore time.Duration
	Freeze        time.Duration
	DumpBytes     int64 // size of the dump on disk
}

// Copy moves the whole source database into the target database (which
// must exist and be empty) with pg_dump's directory format and parallel
// pg_restore. Call it with the writers stopped: anything written at the
// source after the dump's snapshot is not copied.
func Copy(ctx context.Context, src, dst string, opts Options) (CopyResult, error) {
	var res CopyResult
	p, err := newPair(src, dst, opts)
	if err != nil {
		return res, err
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(opts.workDir(), "cosocial-pgdump-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "dump")
	jobs := strconv.Itoa(opts.jobs())

	dump, err := p.tool(ctx, "pg_dump", p.src, "--format=directory", "--jobs="+jobs, "--file="+dir,
		"--no-sync", "--compress=1", "--dbname="+p.src.public)
	if err != nil {
		return res, err
	}
	if err := dump.run(p); err != nil {
		return res, err
	}
	res.Dump = time.Since(start)
	res.DumpBytes = dirSize(dir)

	restoreStart := time.Now()
	args := append(p.restoreArgs(), "--jobs="+jobs, "--dbname="+p.dst.public, dir)
	restore, err := p.tool(ctx, "pg_restore", p.dst, args...)
	if err != nil {
		return res, err
	}
	if err := restore.run(p); err != nil {
		return res, err
	}
	res.Restore = time.Since(restoreStart)
	res.Freeze = time.Since(start)
	return res, nil
}

// restoreArgs are the pg_restore options both modes share.
func (p *pair) restoreArgs() []string {
	args := []string{"--no-owner", "--exit-on-error"}
	if !p.opts.KeepPrivileges {
		args = append(args, "--no-privileges")
	}
	if p.opts.TargetRole != "" {
		args = append(args, "--role="+p.opts.TargetRole)
	}
	if p.opts.Clean {
		args = append(args, "--clean", "--if-exists")
	}
	return args
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// CopySchema creates the source's tables, indexes, constraints,
// sequences and extensions at the target, without rows, in one
// transaction. When every source table already exists at the target (a
// resumed run) it does nothing and reports done = false.
func CopySchema(ctx context.Context, src, dst string, opts Options) (done bool, err error) {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return false, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return false, err
	}
	defer closeFn()
	tables, err := userTables(ctx, sconn)
	if err != nil {
		return false, p.wrap("listing the source's tables", err)
	}
	missing, err := missingTables(ctx, dconn, tables)
	if err != nil {
		return false, p.wrap("looking for the tables at the target", err)
	}
	if len(missing) == 0 && len(tables) > 0 {
		return false, nil
	}
	if len(missing) < len(tables) {
		// The restore is one transaction, so only someone else can have
		// made part of the schema: restoring over it would fail halfway.
		return false, fmt.Errorf("the target already has %d of the source's %d tables but not %s: empty the target database or finish its schema by hand",
			len(tables)-len(missing), len(tables), missing[0])
	}

	dump, err := p.tool(ctx, "pg_dump", p.src, "--schema-only", "--format=custom", "--dbname="+p.src.public)
	if err != nil {
		return false, err
	}
	args := append(p.restoreArgs(), "--single-transaction", "--dbname="+p.dst.public)
	restore, err := p.tool(ctx, "pg_restore", p.dst, args...)
	if err != nil {
		return false, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return false, err
	}
	dump.cmd.Stdout, restore.cmd.Stdin = w, r
	if err := dump.cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return false, dump.wait(p, err)
	}
	w.Close()
	if err := restore.cmd.Start(); err != nil {
		r.Close()
		dump.cmd.Wait()
		return false, restore.wait(p, err)
	}
	r.Close()
	restoreErr := restore.wait(p, restore.cmd.Wait())
	dumpErr := dump.wait(p, dump.cmd.Wait())
	// When one fails the other usually does too (a truncated input, a
	// broken pipe); which one is the cause only their words tell.
	if err := errors.Join(dumpErr, restoreErr); err != nil {
		return false, err
	}
	return true, nil
}

// qualifiedName is a table or sequence, schema-qualified and quoted.
type qualifiedName struct{ Schema, Name string }

func (q qualifiedName) String() string { return q.Schema + "." + q.Name }

func (q qualifiedName) sql() string {
	return pgx.Identifier{q.Schema, q.Name}.Sanitize()
}

// userSchemas is the condition, on a pg_namespace aliased n, that picks
// the schemas a dump carries.
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`

// notExtensionMember is the condition, on a pg_class aliased c, that
// leaves out what an extension created (pg_dump leaves it out too).
const notExtensionMember = `NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.deptype = 'e')`

// userTables lists the ordinary tables that hold rows (partitions
// included, their parents not), in a stable order.
func userTables(ctx context.Context, conn *pgx.Conn) ([]qualifiedName, error) {
	return names(ctx, conn, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND `+userSchemas+` AND `+notExtensionMember+` ORDER BY 1, 2`)
}

func userSequences(ctx context.Context, conn *pgx.Conn) ([]qualifiedName, error) {
	return names(ctx, conn, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'S' AND `+userSchemas+` AND `+notExtensionMember+` ORDER BY 1, 2`)
}

func names(ctx context.Context, conn *pgx.Conn, query string, args ...any) ([]qualifiedName, error) {
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (qualifiedName, error) {
		var q qualifiedName
		return q, r.Scan(&q.Schema, &q.Name)
	})
}

func missingTables(ctx context.Context, conn *pgx.Conn, tables []qualifiedName) ([]qualifiedName, error) {
	var missing []qualifiedName
	for _, t := range tables {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, t.sql()).Scan(&exists); err != nil {
			return nil, err
		}
		if !exists {
			missing = append(missing, t)
		}
	}
	return missing, nil
}
