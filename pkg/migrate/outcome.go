package migrate

import (
	"fmt"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/migrate/journal"
)

// Outcome is where a migration stands, read from its journal, in words
// for the person who runs it next.
type Outcome struct {
	Done bool
	// Summary says what happened last and what the next run will do.
	Summary string
}

// Frozen is how long the members could not write, from the journal: from
// stop-writers' start to start-target's end; 0 until both happened in the
// last window.
func Frozen(steps []journal.StepState) time.Duration {
	var from, to time.Time
	for _, s := range steps {
		switch {
		case s.Name == "stop-writers" && s.State == journal.Done:
			from = s.Started
		case s.Name == "start-target" && s.State == journal.Done:
			to = s.Finished
		}
	}
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

// OutcomeOf reads a journal's steps: done once the DNS switch is; else
// stopped at a step that failed or was interrupted, undone after one that
// failed (its error is kept with it), or under way with steps to go.
func OutcomeOf(steps []journal.StepState) Outcome {
	if len(steps) == 0 {
		return Outcome{Summary: "Not started: the next `cosocial migrate run` starts with the bulk copies."}
	}
	for _, s := range steps {
		if s.Name == "switch-dns" && s.State == journal.Done {
			// Only the release of a low-downtime move's replication comes
			// after the switch.
			for _, r := range steps {
				if strings.HasPrefix(r.Name, "release-") && r.State != journal.Done {
					why := string(r.State)
					if r.Error != "" {
						why += ": " + r.Error
					}
					return Outcome{Summary: fmt.Sprintf("Moved: the service runs at the target and the DNS points at it, but step %s is %s. "+
						"Until it is done the source keeps a replication slot, which holds back its WAL; the next `cosocial migrate run` does it.", r.Name, why)}
				}
			}
			return Outcome{Done: true, Summary: "Done: the service runs at the target, and the DNS points at it."}
		}
	}
	for _, s := range steps {
		switch s.State {
		case journal.UndoFailed:
			return Outcome{Summary: fmt.Sprintf("Undoing step %s failed: %s. The source may not run as before: check it, then run `cosocial migrate run` again, which finishes the undo first.", s.Name, s.Error)}
		case journal.Failed:
			return Outcome{Summary: fmt.Sprintf("Stopped: step %s failed: %s. The next `cosocial migrate run` starts again at %s; the steps done before it are kept.", s.Name, s.Error, s.Name)}
		case journal.Interrupted, journal.Running, journal.Undoing:
			return Outcome{Summary: fmt.Sprintf("Stopped: the run was interrupted during step %s. The next `cosocial migrate run` does it again; the steps done before it are kept.", s.Name)}
		}
	}
	for _, s := range steps {
		if s.State == journal.Undone && s.Error != "" {
			return Outcome{Summary: fmt.Sprintf("The cutover was undone: step %s failed: %s. The source runs as before, and the bulk copies are kept; the next `cosocial migrate run` runs the window again from stop-writers.", s.Name, s.Error)}
		}
	}
	return Outcome{Summary: "Under way: the bulk copies are done or in progress, and the window has not run. The next `cosocial migrate run` goes on from there."}
}
