package migrate

import (
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/pgcopy"
)

func TestOutcomeSaysWhatHappenedAndWhatIsNext(t *testing.T) {
	st := func(name string, state journal.State, errText string) journal.StepState {
		return journal.StepState{Name: name, State: state, Error: errText}
	}
	for _, tc := range []struct {
		steps []journal.StepState
		done  bool
		say   string
	}{
		{nil, false, "Not started"},
		{[]journal.StepState{st("copy-media-objects", journal.Done, "")}, false, "Under way"},
		{[]journal.StepState{st("copy-media-objects", journal.Failed, "S3: access denied")}, false, "step copy-media-objects failed: S3: access denied. The next `cosocial migrate run` starts again at copy-media-objects"},
		{[]journal.StepState{st("copy-media-objects", journal.Done, ""), st("replicate-main", journal.Interrupted, "")}, false, "interrupted during step replicate-main"},
		{[]journal.StepState{st("stop-writers", journal.Undone, ""), st("health-check", journal.Undone, "no answer from /health")}, false, "undone: step health-check failed: no answer from /health"},
		{[]journal.StepState{st("stop-writers", journal.UndoFailed, "undo: ssh: refused")}, false, "Undoing step stop-writers failed"},
		{[]journal.StepState{st("health-check", journal.Done, ""), st("switch-dns", journal.Done, "")}, true, "Done"},
		{[]journal.StepState{st("switch-dns", journal.Done, ""), st("release-main-replication", journal.Failed, "slot in use")}, false,
			"Moved: the service runs at the target and the DNS points at it, but step release-main-replication is failed: slot in use"},
		{[]journal.StepState{st("switch-dns", journal.Done, ""), st("release-main-replication", journal.Done, "")}, true, "Done"},
	} {
		o := OutcomeOf(tc.steps)
		if o.Done != tc.done || !strings.Contains(o.Summary, tc.say) {
			t.Errorf("%v: %+v, want done=%v and %q", tc.steps, o, tc.done, tc.say)
		}
	}
}

// TestVerifyAfterTheCutoverJudgesWhatTheSourceHad: once the app writes at
// the target, new objects and rows there are expected; a source object
// missing or changed, or a table short of the source's rows, still fails.
func TestVerifyAfterTheCutoverJudgesWhatTheSourceHad(t *testing.T) {
	objs := func(missing, extra, different int64) Check {
		return Check{Objects: &objects.Report{Compared: 10, Missing: missing, Extra: extra, Different: different}}
	}
	rows := func(src, dst int64, sum pgcopy.ChecksumState) Check {
		return Check{Tables: &pgcopy.Verification{Tables: []pgcopy.TableCheck{{Table: "public.statuses", SourceRows: src, TargetRows: dst, Checksum: sum}}}}
	}
	for _, tc := range []struct {
		name          string
		c             Check
		before, after bool
	}{
		{"identical", objs(0, 0, 0), true, true},
		{"new objects at the target", objs(0, 5, 0), false, true},
		{"a source object missing", objs(1, 0, 0), false, false},
		{"a source object changed", objs(0, 0, 1), false, false},
		{"same rows", rows(100, 100, pgcopy.ChecksumEqual), true, true},
		{"rows written at the target", rows(100, 140, pgcopy.ChecksumDifferent), false, true},
		{"rows lost", rows(100, 99, pgcopy.ChecksumDifferent), false, false},
		{"table missing", rows(100, 0, pgcopy.MissingAtTarget), false, false},
	} {
		c := tc.c
		if got := c.OK(); got != tc.before {
			t.Errorf("%s, before the cutover: OK %v", tc.name, got)
		}
		c.AfterCutover = true
		if got := c.OK(); got != tc.after {
			t.Errorf("%s, after the cutover: OK %v", tc.name, got)
		}
	}
}
