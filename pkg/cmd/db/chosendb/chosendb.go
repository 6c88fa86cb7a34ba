// Package chosendb resolves what every `cosocial db` command works on: one
// database block of the description, what the catalog offers it, its disk
// and the file its measurements are kept in.
package chosendb

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/preflight"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/dbplan"
	"github.com/cosocial/cosocial/pkg/didyoumean"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// Deps are the db commands' dependencies.
type Deps struct {
	preflight.Deps
	// StackDir is the folder of the description's stacks, sandbox ones
	// apart.
	StackDir func(sandbox bool) string
}

// Database is the database a command works on, chosen.
type Database struct {
	Description *model.Description
	Database    *model.Database
	// Offer is nil when the catalog does not know where the database runs.
	Offer *policy.DatabaseOffer
	// History is the database's history file.
	History string
	// DiskBytes is the disk to judge against: --disk-gb, else the
	// description's disk_gb; 0 when neither says.
	DiskBytes int64
}

// Resolve loads the description and finds the database named (or the only
// one). Language errors stop it; with strict, so do the domain errors that
// would make a recommendation wrong (an unknown flavor or plan). The
// residency policy is not judged: measuring a database that must move is
// exactly what a co-op needs before the move.
func Resolve(d Deps, name string, sandbox bool, diskGB int, strict bool) (*Database, error) {
	res := d.Load()
	diags := res.Diagnostics
	if !diags.HasErrors() && strict {
		judged := policy.Check(res.Description, d.Catalog(), d.Now())
		for _, diag := range judged.Diagnostics {
			if _, finding := diag.Extra.(policy.Finding); !finding {
				diags = append(diags, diag)
			}
		}
		config.SortDiagnostics(diags, res.Description.Files)
	}
	if diags.HasErrors() {
		views.Diagnostics(d.IO.ErrOut, diags, res.Files, d.IO.ErrColorScheme())
		return nil, exit.ErrSilent
	}
	db, err := Pick(res.Description, name)
	if err != nil {
		return nil, err
	}
	s := &Database{
		Description: res.Description, Database: db,
		Offer:   policy.OfferFor(d.Catalog(), res.Description, db),
		History: dbplan.HistoryPath(d.StackDir(sandbox), d.StackName(), db.Name),
	}
	switch {
	case diskGB > 0:
		s.DiskBytes = int64(diskGB) * dbplan.GB
	case db.DiskGB > 0:
		s.DiskBytes = int64(db.DiskGB) * dbplan.GB
	}
	return s, nil
}

// Pick finds a database by name, or the only one.
func Pick(desc *model.Description, name string) (*model.Database, error) {
	var names []string
	for _, db := range desc.Databases {
		if db.Name == name || (name == "" && len(desc.Databases) == 1) {
			return db, nil
		}
		names = append(names, db.Name)
	}
	sort.Strings(names)
	switch {
	case len(names) == 0:
		return nil, fmt.Errorf("the description has no database block")
	case name == "":
		return nil, fmt.Errorf("the description has %d databases (%s): name one, e.g. `cosocial db forecast %s`", len(names), strings.Join(names, ", "), names[0])
	default:
		return nil, fmt.Errorf("the description has no database %q.%s Its databases: %s", name, didyoumean.Hint(name, names), strings.Join(names, ", "))
	}
}

// Horizon reads a span like 12m, 18m, 2y, 26w or 90d; plain numbers are
// months.
func Horizon(s string) (days int, text string, err error) {
	m := horizonRE.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, "", exit.FlagErrorf("--horizon must be like 12m, 2y, 26w or 90d, not %q", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := m[2]
	if n <= 0 {
		return 0, "", exit.FlagErrorf("--horizon must be positive, not %q", s)
	}
	plural := func(word string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", word)
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	switch unit {
	case "", "m", "mo", "month", "months":
		return n * 365 / 12, plural("month"), nil
	case "y", "year", "years":
		return n * 365, plural("year"), nil
	case "w", "week", "weeks":
		return n * 7, plural("week"), nil
	case "d", "day", "days":
		return n, plural("day"), nil
	}
	return 0, "", exit.FlagErrorf("--horizon must be like 12m, 2y, 26w or 90d, not %q", s)
}

var horizonRE = regexp.MustCompile(`^\s*([0-9]+)\s*([a-z]*)\s*$`)
