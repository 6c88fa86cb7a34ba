package migrate

import (
	"context"
	"sort"

	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/pgcopy"
)

// Ends are the two ends of each data-bearing pair, by the pair's name:
// buckets as S3 endpoints, databases as connection strings (secret).
type Connections struct {
	Buckets   map[string][2]objects.Endpoint
	Databases map[string][2]string
}

// Check is what verifying one pair found.
type Check struct {
	Address string               `json:"address"`
	Objects *objects.Report      `json:"objects,omitempty"`
	Tables  *pgcopy.Verification `json:"tables,omitempty"`
	// Err is why the pair could not be compared.
	Err string `json:"error,omitempty"`
	// AfterCutover: the app has written at the target since, so only what
	// the source had is judged (see OK).
	AfterCutover bool `json:"after_cutover,omitempty"`
}

// OK is true when the target holds the source's data: the same data
// before the cutover; after it, where the app at the target writes, every
// source object there byte for byte (new ones allowed) and every table
// with at least the source's rows (its content changes with the app's
// writes, so its checksum is not judged).
func (c Check) OK() bool {
	switch {
	case c.Err != "":
		return false
	case c.Objects != nil && c.AfterCutover:
		r := c.Objects
		return r.Missing+r.Different+r.Unreadable == 0
	case c.Objects != nil:
		return c.Objects.OK()
	case c.Tables != nil && c.AfterCutover:
		for _, t := range c.Tables.Tables {
			if t.Checksum == pgcopy.MissingAtTarget || t.TargetRows < t.SourceRows {
				return false
			}
		}
		for _, s := range c.Tables.Sequences {
			if !s.OK {
				return false
			}
		}
		return true
	case c.Tables != nil:
		return c.Tables.Equal()
	}
	return false
}

// Verify compares every pair's two ends: each object's size and SHA-256
// computed at both ends, each table's row count and content checksum.
// It changes nothing and can run at any time, before or after a cutover;
// afterCutover says the app now writes at the target, and the checks
// judge only what the source had.
func Verify(ctx context.Context, conns Connections, width int, checksumMaxBytes int64, afterCutover bool) []Check {
	var out []Check
	for _, name := range sortedKeys(conns.Buckets) {
		e := conns.Buckets[name]
		c := Check{Address: "bucket." + name, AfterCutover: afterCutover}
		rep, err := objects.Verify(ctx, e[0], e[1], objects.VerifyOptions{Width: width})
		if err != nil {
			c.Err = err.Error()
		} else {
			c.Objects = &rep
		}
		out = append(out, c)
	}
	for _, name := range sortedKeys(conns.Databases) {
		e := conns.Databases[name]
		c := Check{Address: "database." + name, AfterCutover: afterCutover}
		v, err := pgcopy.Verify(ctx, e[0], e[1], pgcopy.Options{ChecksumMaxBytes: checksumMaxBytes})
		if err != nil {
			c.Err = err.Error() // pgcopy's errors carry no passwords
		} else {
			c.Tables = &v
		}
		out = append(out, c)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
