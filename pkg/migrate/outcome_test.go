package migrate

import (
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/migrate/journal"
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
	} {
		o := OutcomeOf(tc.steps)
		if o.Done != tc.done || !strings.Contains(o.Summary, tc.say) {
			t.Errorf("%v: %+v, want done=%v and %q", tc.steps, o, tc.done, tc.say)
		}
	}
}
