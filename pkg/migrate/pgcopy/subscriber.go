package pgcopy

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// extrasCreate is aiven_extras' function that creates a subscription for
// a login that may not: managed PostgreSQL built on Aiven's platform
// (OVHcloud's among them) gives its admin no superuser, and PostgreSQL 15
// lets only superusers subscribe, so the extension's SECURITY DEFINER
// functions do it for them.
const extrasCreate = `aiven_extras.pg_create_subscription(text,text,text,text,boolean,boolean)`

// subscriber makes and unmakes the target's subscription: with plain
// statements when the target login may, or through aiven_extras'
// functions when it may not and the target database has them.
type subscriber struct {
	conn   *pgx.Conn
	extras bool
}

func newSubscriber(ctx context.Context, dconn *pgx.Conn) (subscriber, error) {
	s := subscriber{conn: dconn}
	var direct bool
	err := dconn.QueryRow(ctx, `SELECT `+mayCreateSubscription+`, to_regprocedure($1) IS NOT NULL FROM pg_roles r WHERE r.rolname = current_user`,
		extrasCreate).Scan(&direct, &s.extras)
	s.extras = s.extras && !direct
	return s, err
}

// mayCreateSubscription is the condition, on the current login's pg_roles
// row aliased r, that it may run CREATE SUBSCRIPTION itself.
const mayCreateSubscription = `(r.rolsuper OR coalesce((SELECT pg_has_role(current_user, g.oid, 'USAGE') FROM pg_roles g WHERE g.rolname = 'pg_create_subscription'), false))`

// create subscribes the target to the publication name through the slot
// of the same name, copying the tables first.
func (s subscriber) create(ctx context.Context, sconn *pgx.Conn, name, conninfo string) error {
	if !s.extras {
		_, err := s.conn.Exec(ctx, `CREATE SUBSCRIPTION `+ident(name)+` CONNECTION `+conninfoLiteral(conninfo)+
			` PUBLICATION `+ident(name)+` WITH (copy_data = true, create_slot = true, enabled = true, slot_name = `+literal(name)+`)`)
		return err
	}
	// The slot is made from the source's own connection (its login may
	// replicate), so a refusal is reported against the source, not as
	// an error of the target's remote call.
	if _, err := sconn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, name); err != nil {
		return err
	}
	_, err := s.conn.Exec(ctx, `SELECT aiven_extras.pg_create_subscription($1, $2, $3, $4, false, true)`, name, conninfo, name, name)
	return err
}

func (s subscriber) enable(ctx context.Context, name string) error {
	if s.extras {
		_, err := s.conn.Exec(ctx, `SELECT aiven_extras.pg_alter_subscription_enable($1)`, name)
		return err
	}
	_, err := s.conn.Exec(ctx, `ALTER SUBSCRIPTION `+ident(name)+` ENABLE`)
	return err
}

// detach stops the subscription applying anything more, at once: the
// target may take writes afterwards. Plain statements also let go of the
// slot, so that the drop needs no word with the source; aiven_extras has
// no such function, and its drop waits for the source instead.
func (s subscriber) detach(ctx context.Context, name string) error {
	if s.extras {
		_, err := s.conn.Exec(ctx, `SELECT aiven_extras.pg_alter_subscription_disable($1)`, name)
		return err
	}
	for _, stmt := range []string{
		`ALTER SUBSCRIPTION ` + ident(name) + ` DISABLE`,
		`ALTER SUBSCRIPTION ` + ident(name) + ` SET (slot_name = NONE)`,
	} {
		if _, err := s.conn.Exec(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// drop detaches the subscription from its slot and drops it, so that
// the target need not reach the source to finish; the slot stays for
// cleanSource. aiven_extras' drop also drops the slot at the source, and
// fails while a walsender still holds it: the subscription is disabled
// first and the drop waits for the source to let go.
func (s subscriber) drop(ctx context.Context, sconn *pgx.Conn, name string) error {
	sub, err := subscription(ctx, s.conn, name)
	if err != nil || !sub.exists {
		return err
	}
	if !s.extras {
		if err := s.detach(ctx, name); err != nil {
			return err
		}
		_, err := s.conn.Exec(ctx, `DROP SUBSCRIPTION `+ident(name))
		return err
	}
	if sub.enabled {
		if err := s.detach(ctx, name); err != nil {
			return err
		}
	}
	if err := waitSlotIdle(ctx, sconn, name, 30*time.Second); err != nil {
		return err
	}
	_, err = s.conn.Exec(ctx, `SELECT aiven_extras.pg_drop_subscription($1)`, name)
	return err
}
