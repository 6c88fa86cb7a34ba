package pgcopy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotReplicating is Cutover finding no subscription to finish: either
// StartReplication never completed, or a cutover already finished (Verify
// tells which).
var ErrNotReplicating = errors.New("no replication to cut over: the target has no subscription (start replication first; if a cutover already finished, run Verify)")

// cutoverMark is written on the publication once the sequences are
// copied: a run resumed after that point knows the subscription is gone
// because the cutover dropped it, not because it was never made.
const cutoverMark = "cosocial: cutover, sequences copied"

// CutoverResult is what a cutover did and how long writers were stopped.
type CutoverResult struct {
	// FinalLSN is the source's WAL position once writers had stopped;
	// the target had applied everything up to it.
	FinalLSN  LSN
	Sequences []SequenceValue
	// CatchUp, SequenceCopy and Detach are the steps of the freeze:
	// waiting for the last changes, copying sequences, and disabling the
	// subscription.
	CatchUp, SequenceCopy, Detach time.Duration
	// Freeze is the whole time from the call (writers stopped) until the
	// target could take writes.
	Freeze time.Duration
	// Cleanup is Release: dropping the subscription, the slot and the
	// publication, after the freeze (Cutover only).
	Cleanup time.Duration
	// Resumed is set when an earlier cutover had already got past
	// copying the sequences.
	Resumed bool
}

// Cutover finishes a low-downtime migration in one call: Detach, then
// Release.
func Cutover(ctx context.Context, src, dst string, opts Options) (CutoverResult, error) {
	res, err := Detach(ctx, src, dst, opts)
	if err != nil {
		return res, err
	}
	t := time.Now()
	err = Release(ctx, src, dst, opts)
	res.Cleanup = time.Since(t)
	return res, err
}

// Detach is the part of the cutover that writers wait for. Call it once
// they are stopped: it waits until the target has applied the source's
// last change, copies the sequences and disables the subscription. The
// target can take writes when it returns; Release then drops what is
// left of the replication, once the service runs there. A Detach
// interrupted at any point can be called again.
func Detach(ctx context.Context, src, dst string, opts Options) (CutoverResult, error) {
	start := time.Now()
	var res CutoverResult
	p, err := newPair(src, dst, opts)
	if err != nil {
		return res, err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return res, err
	}
	defer closeFn()
	name := p.opts.name()
	sub, err := subscription(ctx, dconn, name)
	if err != nil {
		return res, p.wrap("reading the subscription", err)
	}
	var comment *string
	err = sconn.QueryRow(ctx, `SELECT obj_description(oid, 'pg_publication') FROM pg_publication WHERE pubname = $1`, name).Scan(&comment)
	pubExists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return res, p.wrap("reading the publication", err)
	}
	marked := comment != nil && *comment == cutoverMark
	if !sub.exists && !marked {
		return res, ErrNotReplicating
	}
	res.Resumed = marked
	subs, err := newSubscriber(ctx, dconn)
	if err != nil {
		return res, p.wrap("reading the target's rights", err)
	}

	if sub.exists && !marked {
		if !sub.enabled {
			if err := subs.enable(ctx, name); err != nil {
				return res, p.wrap("enabling the subscription", err)
			}
		}
		if res.FinalLSN, err = currentLSN(ctx, sconn); err != nil {
			return res, p.wrap("reading the source's final WAL position", err)
		}
		if _, err := p.waitFor(ctx, sconn, dconn, res.FinalLSN); err != nil {
			return res, p.wrap("waiting for the last changes", err)
		}
	}
	res.CatchUp = time.Since(start)

	// The last changes may be applied but not yet flushed at the target
	// (see AppliedLSN). setval and the subscription's DDL below commit
	// synchronously, which flushes the target's WAL up to them, so they
	// are durable before the slot that could replay them is dropped.
	t := time.Now()
	if res.Sequences, err = copySequences(ctx, sconn, dconn); err != nil {
		return res, p.wrap("copying sequences", err)
	}
	if pubExists && !marked {
		if _, err := sconn.Exec(ctx, `COMMENT ON PUBLICATION `+ident(name)+` IS `+literal(cutoverMark)); err != nil {
			return res, p.wrap("marking the publication", err)
		}
	}
	res.SequenceCopy = time.Since(t)

	t = time.Now()
	if sub.exists {
		if err := subs.detach(ctx, name); err != nil {
			return res, p.wrap("disabling the subscription", err)
		}
	}
	res.Detach = time.Since(t)
	res.Freeze = time.Since(start)
	return res, nil
}

// Release drops what a Detach left of the replication: the subscription
// at the target, the slots and the publication at the source. It is
// safe to call again, and when some or all of it is gone; called before
// Detach it abandons the replication (StopReplication).
func Release(ctx context.Context, src, dst string, opts Options) error {
	return StopReplication(ctx, src, dst, opts)
}

// dropSubscription drops the target's subscription, if any, leaving the
// source's slot for cleanSource.
func dropSubscription(ctx context.Context, sconn, dconn *pgx.Conn, name string) error {
	subs, err := newSubscriber(ctx, dconn)
	if err != nil {
		return err
	}
	return subs.drop(ctx, sconn, name)
}

// cleanSource drops the slot, the table-copy slots an interrupted
// initial copy can leave, and the publication.
func (p *pair) cleanSource(ctx context.Context, sconn *pgx.Conn, subOID uint32) error {
	name := p.opts.name()
	// The walsender notices the disabled subscription within moments.
	if err := dropSlot(ctx, sconn, name, 30*time.Second); err != nil {
		return p.wrap("dropping the replication slot", err)
	}
	if subOID != 0 {
		syncSlots, err := names(ctx, sconn, `SELECT '', slot_name::text FROM pg_replication_slots WHERE slot_name LIKE $1`,
			fmt.Sprintf(`pg\_%d\_sync\_%%`, subOID))
		if err != nil {
			return p.wrap("listing table-copy slots", err)
		}
		for _, s := range syncSlots {
			if err := dropSlot(ctx, sconn, s.Name, 30*time.Second); err != nil {
				return p.wrap("dropping a table-copy slot", err)
			}
		}
	}
	if _, err := sconn.Exec(ctx, `DROP PUBLICATION IF EXISTS `+ident(name)); err != nil {
		return p.wrap("dropping the publication", err)
	}
	return nil
}

// Restart sets replication up again after a cutover was undone: the
// subscription was detached, the source has taken writes again since, and
// the target may hold rows a briefly started target app wrote. It cleans
// up what is left of the last replication, empties the target's tables
// and subscribes afresh, whose initial copy runs while the service is up;
// the next Cutover waits for it. The target serves no one meanwhile.
func Restart(ctx context.Context, src, dst string, opts Options) error {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return err
	}
	sub, err := subscription(ctx, dconn, p.opts.name())
	if err == nil && sub.exists && sub.enabled {
		// Undone before the detach: replication still runs. Only the
		// cutover's mark goes, or the next cutover would take the
		// replication as caught up and detach without waiting.
		_, err = sconn.Exec(ctx, `DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = `+literal(p.opts.name())+`) THEN COMMENT ON PUBLICATION `+ident(p.opts.name())+` IS NULL; END IF; END $$`)
		closeFn()
		return p.wrap("clearing the cutover's mark", err)
	}
	closeFn()
	if err != nil {
		return p.wrap("reading the subscription", err)
	}
	if err := StopReplication(ctx, src, dst, opts); err != nil {
		return err
	}
	if dconn, err = p.connect(ctx, p.dst); err != nil {
		return err
	}
	tables, err := userTables(ctx, dconn)
	if err == nil && len(tables) > 0 {
		_, err = dconn.Exec(ctx, `TRUNCATE `+joinNames(tables))
	}
	dconn.Close(context.Background())
	if err != nil {
		return p.wrap("emptying the target's tables", err)
	}
	return StartReplication(ctx, src, dst, opts)
}

// StopReplication abandons a low-downtime migration: it drops the
// subscription, the slots and the publication, leaving the target's
// tables as they are. It is safe to call when some or all are gone.
func StopReplication(ctx context.Context, src, dst string, opts Options) error {
	p, err := newPair(src, dst, opts)
	if err != nil {
		return err
	}
	sconn, dconn, closeFn, err := p.both(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	sub, err := subscription(ctx, dconn, p.opts.name())
	if err != nil {
		return p.wrap("reading the subscription", err)
	}
	if err := dropSubscription(ctx, sconn, dconn, p.opts.name()); err != nil {
		return p.wrap("dropping the subscription", err)
	}
	return p.cleanSource(ctx, sconn, sub.oid)
}
