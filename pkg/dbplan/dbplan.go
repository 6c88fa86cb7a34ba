// Package dbplan tells TechOps when a database's disk fills and what to do
// about it: it measures a PostgreSQL database (pgx), keeps the measurements
// as a history beside the stack, fits the growth, estimates what Mastodon's
// routine clean-ups would give back, recommends the next disk or flavor the
// provider offers, and rewrites the description so that plan and up carry
// the resize out. It never prints: commands render what it returns.
package dbplan

import "time"

// GB is the unit disk sizes are sold in: providers' "GB" are decimal.
const GB = 1_000_000_000

// Sample is one measurement of a database.
type Sample struct {
	Time time.Time `json:"time"`
	// DatabaseBytes is pg_database_size: what the disk holds for it.
	DatabaseBytes int64 `json:"database_bytes"`
	// DiskBytes is the disk the provider gives the database, 0 if unknown.
	DiskBytes int64 `json:"disk_bytes"`
	// WALBytes is the write-ahead log on disk, -1 when the role may not
	// read it (pg_ls_waldir needs pg_monitor).
	WALBytes int64 `json:"wal_bytes"`
	// Source says where the sample came from: "measured" or "imported".
	Source string `json:"source"`
	// Tables are the largest tables' sizes with their indexes and TOAST,
	// by name, when measured: the forecast says which one drives the
	// growth.
	Tables map[string]int64 `json:"tables,omitempty"`
}

// Used is the share of the disk the sample fills, 0 when the disk is
// unknown.
func (s Sample) Used() float64 {
	if s.DiskBytes <= 0 {
		return 0
	}
	return float64(s.DatabaseBytes+max(s.WALBytes, 0)) / float64(s.DiskBytes)
}
