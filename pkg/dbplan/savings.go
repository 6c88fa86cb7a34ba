package dbplan

import (
	"context"
	"errors"
	"fmt"

	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Where a clean-up gives room back.
const (
	InDatabase = "database"
	InBucket   = "bucket"
)

// Saving is the room one routine clean-up would give back.
type Saving struct {
	What string `json:"what"`
	// Where is InDatabase or InBucket: Mastodon keeps cached remote media
	// and preview-card images in the bucket, not in PostgreSQL.
	Where   string `json:"where"`
	Rows    int64  `json:"rows"`
	Bytes   int64  `json:"bytes"`
	Command string `json:"command"`
	Note    string `json:"note"`
}

// cleanup is one of Mastodon's routine clean-ups, measured in SQL. The
// query returns the rows affected and, for bucket clean-ups, their bytes;
// database room is estimated from the table's bytes per row.
type cleanup struct {
	what, where, table, command, note, query string
}

// What Mastodon's clean-ups remove, read from tootctl's sources
// (lib/mastodon/cli/statuses.rb, accounts.rb, media.rb, preview_cards.rb)
// and its scheduler's vacuums (app/lib/vacuum): each query counts the rows
// the command selects, with its own exclusions, read-only.
var cleanups = []cleanup{
	{
		what: "remote statuses older than 90 days that nothing local holds on to", where: InDatabase, table: "statuses",
		command: "tootctl statuses remove --days 90",
		note: "as tootctl selects them: by id (Mastodon's ids encode the time), keeping statuses replied to, pinned, mentioning, " +
			"favourited or bookmarked by local accounts, boosted locally, and those of any followed account (--clean-followed removes these too); " +
			"their boosts, favourites and mentions go with them; it also deletes uploads left unattached for 89 days and emptied conversations, " +
			"and frees the room to PostgreSQL, not the disk, unless --compress-database (VACUUM FULL, which locks the table)",
		query: `WITH p AS (SELECT (floor(extract(epoch FROM now() - interval '90 days'))::bigint * 1000) << 16 AS max_id)
		SELECT count(*), 0 FROM statuses s, p
		WHERE s.deleted_at IS NULL AND NOT s.local AND s.uri IS NOT NULL AND s.id < p.max_id
		  AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.in_reply_to_id = s.id)
		  AND NOT EXISTS (SELECT 1 FROM statuses o WHERE o.id = s.reblog_of_id AND (o.uri IS NULL OR o.local))
		  AND NOT EXISTS (SELECT 1 FROM statuses b WHERE b.reblog_of_id = s.id AND (b.uri IS NULL OR b.local OR b.id >= p.max_id))
		  AND NOT EXISTS (SELECT 1 FROM status_pins sp WHERE sp.status_id = s.id)
		  AND NOT EXISTS (SELECT 1 FROM mentions m JOIN accounts a ON a.id = m.account_id AND a.domain IS NULL WHERE m.status_id = s.id)
		  AND NOT EXISTS (SELECT 1 FROM favourites f JOIN accounts a ON a.id = f.account_id AND a.domain IS NULL WHERE f.status_id = s.id)
		  AND NOT EXISTS (SELECT 1 FROM bookmarks k JOIN accounts a ON a.id = k.account_id AND a.domain IS NULL WHERE k.status_id = s.id)
		  AND NOT EXISTS (SELECT 1 FROM follows fo WHERE fo.target_account_id = s.account_id)`,
	},
	{
		what: "remote accounts nothing local refers to", where: InDatabase, table: "accounts",
		command: "tootctl accounts prune",
		note: "as tootctl selects them: remote people (not bots, services or groups) with no statuses, mentions, favourites, follows, " +
			"follow requests or blocks either way, no mutes or reports of them, and neither suspended nor silenced",
		query: `SELECT count(*), 0 FROM accounts a
		WHERE a.domain IS NOT NULL AND a.actor_type NOT IN ('Application', 'Service', 'Group')
		  AND a.suspended_at IS NULL AND a.silenced_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.account_id = a.id OR f.target_account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM follow_requests f WHERE f.account_id = a.id OR f.target_account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = a.id OR b.target_account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.target_account_id = a.id)
		  AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.target_account_id = a.id)`,
	},
	{
		what: "uploads never posted, older than a day", where: InDatabase, table: "media_attachments",
		command: "none: Sidekiq's daily vacuum (Scheduler::VacuumScheduler) deletes them",
		note:    "a count above a day's uploads means Sidekiq's scheduler is not running; tootctl media remove-orphans is another thing: it deletes files in the bucket that no row names, and no rows",
		query: `SELECT count(*), 0 FROM media_attachments
		        WHERE status_id IS NULL AND scheduled_status_id IS NULL AND created_at < now() - interval '1 day'`,
	},
	{
		what: "cached remote media files older than 7 days", where: InBucket, table: "media_attachments",
		command: "tootctl media remove --days 7",
		note:    "the files go from the bucket; the rows stay (their file columns are emptied), so the database does not shrink; they are fetched again when viewed",
		query: `SELECT count(*), COALESCE(sum(file_file_size), 0)::bigint FROM media_attachments
		        WHERE remote_url <> '' AND file_file_name IS NOT NULL AND created_at < now() - interval '7 days'`,
	},
	{
		what: "preview-card images older than 180 days", where: InBucket, table: "preview_cards",
		command: "tootctl preview_cards remove --days 180",
		note:    "the images go from the bucket; the cards stay",
		query: `SELECT count(*), COALESCE(sum(image_file_size), 0)::bigint FROM preview_cards
		        WHERE image_file_name IS NOT NULL AND image_file_name <> '' AND updated_at < now() - interval '180 days'`,
	},
}

// IsMastodon reports whether the database has Mastodon's core tables.
func IsMastodon(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM unnest(ARRAY['accounts','statuses','media_attachments','follows']) t
	                           WHERE to_regclass('public.' || t) IS NOT NULL`).Scan(&n)
	return n == 4, err
}

// MastodonSavings estimates what Mastodon's routine clean-ups would give
// back, and what a repack would recover from the measured bloat. A
// clean-up whose tables or columns this Mastodon version lacks is left
// out with a note.
func MastodonSavings(ctx context.Context, conn *pgx.Conn, m *Measurement) ([]Saving, error) {
	out := []Saving{}
	for _, c := range cleanups {
		s := Saving{What: c.what, Where: c.where, Command: c.command, Note: c.note}
		if err := conn.QueryRow(ctx, c.query).Scan(&s.Rows, &s.Bytes); err != nil {
			var pgErr *pgconn.PgError
			switch {
			case errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "42703"):
				s.Note = "not measured: " + pgErr.Message
			case errors.As(err, &pgErr) && pgErr.Code == "42501":
				// A monitoring role (pg_monitor) sees sizes, not rows.
				s.Note = "not measured: the role may not read the table (" + pgErr.Message + "); sizes need only pg_monitor, this estimate needs SELECT"
			default:
				return nil, fmt.Errorf("measuring %s: %w", c.what, err)
			}
			out = append(out, s)
			continue
		}
		if c.where == InDatabase && s.Rows > 0 {
			// A deleted row's room is the table's bytes per row, indexes
			// and TOAST included; PostgreSQL reuses it at once and hands
			// it back to the disk only after a repack.
			var perRow float64
			if err := conn.QueryRow(ctx, `SELECT pg_total_relation_size(c.oid)::float8 / GREATEST(c.reltuples, 1)
			                              FROM pg_class c WHERE c.oid = to_regclass('public.' || $1)`, c.table).Scan(&perRow); err != nil {
				return nil, fmt.Errorf("measuring %s: %w", c.table, err)
			}
			s.Bytes = int64(perRow * float64(s.Rows))
		}
		out = append(out, s)
	}
	if m != nil {
		out = append(out, repacks(m)...)
	}
	return out, nil
}

// repacks are the tables worth a pg_repack: a fifth or more of the table
// and its indexes estimated as bloat. Each says the free disk the repack
// needs while it runs.
func repacks(m *Measurement) []Saving {
	var out []Saving
	for _, t := range m.Tables {
		bloat := t.BloatBytes + t.IndexBloatBytes
		if bloat == 0 || bloat*5 < t.TotalBytes() {
			continue
		}
		out = append(out, Saving{What: "bloat in " + t.Name + " and its indexes", Where: InDatabase, Bytes: bloat,
			Command: "pg_repack --no-order --table " + t.Name,
			Note: fmt.Sprintf("estimated from the planner's statistics (%s in the table, %s in its B-tree indexes); "+
				"needs about %s free on the database's disk while it runs (a new copy of the table and its indexes); "+
				"VACUUM FULL gives the same back but locks the table", objectstore.HumanBytes(t.BloatBytes), objectstore.HumanBytes(t.IndexBloatBytes), objectstore.HumanBytes(t.RepackNeeds()))})
	}
	return out
}
