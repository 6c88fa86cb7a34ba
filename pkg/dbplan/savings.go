package dbplan

import (
	"context"
	"errors"
	"fmt"

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

// Mastodon's defaults for its own clean-ups: remote media is re-fetched
// on demand, so a week of cache is plenty; statuses and cards older than
// these are rarely viewed again.
var cleanups = []cleanup{
	{
		what: "remote statuses older than 90 days", where: InDatabase, table: "statuses",
		command: "tootctl statuses remove --days 90",
		note:    "at most: tootctl keeps those that local accounts favourited, bookmarked, boosted or replied to",
		query: `SELECT count(*), 0 FROM statuses s JOIN accounts a ON a.id = s.account_id
		        WHERE a.domain IS NOT NULL AND s.created_at < now() - interval '90 days'`,
	},
	{
		what: "remote accounts no local account follows or is followed by", where: InDatabase, table: "accounts",
		command: "tootctl accounts prune",
		note:    "at most: prune also keeps accounts with mentions, reports or other local interactions",
		query: `SELECT count(*), 0 FROM accounts a WHERE a.domain IS NOT NULL
		        AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.account_id = a.id OR f.target_account_id = a.id)`,
	},
	{
		what: "unattached uploads older than a day", where: InDatabase, table: "media_attachments",
		command: "tootctl media remove-orphans",
		note:    "uploads never posted; Mastodon's scheduler removes them daily, so a large count means Sidekiq's scheduler is not running",
		query: `SELECT count(*), 0 FROM media_attachments
		        WHERE status_id IS NULL AND account_id IS NOT NULL AND remote_url = '' AND created_at < now() - interval '1 day'`,
	},
	{
		what: "cached remote media older than 7 days", where: InBucket, table: "media_attachments",
		command: "tootctl media remove --days 7",
		query: `SELECT count(*), COALESCE(sum(file_file_size), 0)::bigint FROM media_attachments
		        WHERE remote_url <> '' AND file_file_name IS NOT NULL AND created_at < now() - interval '7 days'`,
	},
	{
		what: "preview-card images older than 180 days", where: InBucket, table: "preview_cards",
		command: "tootctl preview_cards remove --days 180",
		query: `SELECT count(*), COALESCE(sum(image_file_size), 0)::bigint FROM preview_cards
		        WHERE image_file_name IS NOT NULL AND updated_at < now() - interval '180 days'`,
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
		out = append(out, Saving{What: "bloat inside tables", Where: InDatabase, Bytes: m.BloatBytes,
			Command: "pg_repack --no-order --table <table> (or VACUUM FULL in a maintenance window)",
			Note:    "estimated from row counts and average widths; tootctl has no command for it"})
	}
	return out, nil
}
