package app

import (
	"fmt"
	"strings"

	"github.com/blang/semver"
)

// Release is what a project's release notes say a volunteer must know
// before running a release: the database it needs, and the releases it
// cannot be reached from in one step. Each note names where it was read.
type Release struct {
	Version string // the first release the note applies to
	// Databases is the oldest major version of each engine it runs on.
	Databases map[string]int
	// From is the oldest release an upgrade into this one may start
	// from; an older one goes through From's line first.
	From string
	// Why says, in the notes' terms, what From guards against.
	Why string
	// Source is where the note was read; Read how (first hand, or
	// restated in a later release's notes).
	Source, Read string
}

// Releases of a project, oldest first, as its notes state them. A release
// the list does not name needs nothing the previous one did not.
var mastodonReleases = []Release{
	{Version: "4.3.0", Databases: map[string]int{"postgresql": 12},
		Source: "https://github.com/mastodon/mastodon/releases/tag/v4.3.0",
		Read:   "the dependency list restated in the 4.3.x patch releases' notes (\"PostgreSQL: 12 or newer\")"},
	{Version: "4.4.0", Databases: map[string]int{"postgresql": 13}, From: "4.3.0",
		Why:    "upgrading from a release before 4.3.0 without downtime is not supported, and cosocial upgrades without downtime (the new release's migrations run while the old one serves)",
		Source: "https://github.com/mastodon/mastodon/releases/tag/v4.4.0",
		Read:   "the dependency list restated in the 4.4.x patch releases' notes (\"PostgreSQL: 13 or newer\"), and the maintainers' upgrade notes for 4.4 (mastodon/chart pull request 197)"},
	{Version: "4.5.0", Databases: map[string]int{"postgresql": 14},
		Source: "https://github.com/mastodon/mastodon/releases/tag/v4.5.0",
		Read:   "the dependency list restated in the 4.5.x patch releases' notes (\"PostgreSQL: 14 or newer\")"},
}

// CheckRelease refuses a release the service's database cannot run, by
// the project's notes: engine as the language names it, major its
// version ("16"; 0 when unknown).
func CheckRelease(appName, version, engine string, major int) error {
	a, err := Lookup(appName)
	if err != nil {
		return err
	}
	v, err := semver.Parse(version)
	if err != nil || !versionRE.MatchString(version) {
		return fmt.Errorf("%q is not a release number: write the project's release as it tags it, such as %s", version, a.Example)
	}
	for _, r := range a.Releases {
		need, ok := r.Databases[engine]
		if !ok || major == 0 || v.LT(semver.MustParse(r.Version)) || major >= need {
			continue
		}
		return fmt.Errorf("%s %s needs %s %d or newer; the database is %s %d. Upgrade the database first (%s, read in %s)",
			a.title(), version, engineName(engine), need, engineName(engine), major, r.Source, r.Read)
	}
	return nil
}

// CheckUpgrade refuses an upgrade the project's notes say cannot be done
// in one step, naming the release to go through.
func CheckUpgrade(appName, from, to string) error {
	a, err := Lookup(appName)
	if err != nil {
		return err
	}
	vf, errF := semver.Parse(from)
	vt, errT := semver.Parse(to)
	if errF != nil || errT != nil {
		return nil // CheckRelease names a version that is not one
	}
	for _, r := range a.Releases {
		rv := semver.MustParse(r.Version)
		if r.From == "" || vf.GTE(rv) || vt.LT(rv) || vf.GTE(semver.MustParse(r.From)) {
			continue
		}
		line := semver.MustParse(r.From)
		return fmt.Errorf("%s %s cannot be upgraded to %s in one step: %s. Set version to the last %d.%d release first, run up, then set %s (%s, read in %s)",
			a.title(), from, to, r.Why, line.Major, line.Minor, to, r.Source, r.Read)
	}
	return nil
}

func (a *App) title() string { return strings.ToUpper(a.Name[:1]) + a.Name[1:] }

func engineName(engine string) string {
	switch engine {
	case "postgresql":
		return "PostgreSQL"
	case "mysql":
		return "MySQL"
	case "mariadb":
		return "MariaDB"
	}
	return engine
}
