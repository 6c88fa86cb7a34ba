// Package journal keeps a migration's record of its steps on disk, so that
// a run that was killed resumes at the step it was in, steps already done
// are not done twice, and a cutover that went wrong is undone in reverse.
//
// Steps must be idempotent. A step that was running when the process died
// shows as interrupted and is run again from its start on resume, so its
// Do must cope with having been partly done before; and Rollback undoes
// failed and interrupted steps as well as done ones, so its Undo must cope
// with a Do that never finished.
//
// The journal is one small JSON file, rewritten whole on every change
// through a temporary file, fsync and rename: a kill or a power cut at any
// moment leaves either the old record or the new one, never a torn one.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// formatVersion names the file's layout; a journal of another layout is
// refused rather than guessed at.
const formatVersion = "cosocial-steps/1"

// State is where a step stands.
type State string

const (
	Pending     State = "pending"     // declared, never started
	Running     State = "running"     // Do is running in this process
	Interrupted State = "interrupted" // the process stopped while Do or Undo ran
	Done        State = "done"        // Do succeeded; resume skips it
	Failed      State = "failed"      // Do returned an error or panicked
	Undoing     State = "undoing"     // Undo is running in this process
	Undone      State = "undone"      // Undo succeeded (or there was nothing to undo)
	UndoFailed  State = "undo-failed" // Undo returned an error
)

func (s State) valid() bool {
	switch s {
	case Pending, Running, Interrupted, Done, Failed, Undoing, Undone, UndoFailed:
		return true
	}
	return false
}

// undoable says which states may have left something behind to undo.
func (s State) undoable() bool {
	switch s {
	case Done, Failed, Interrupted, UndoFailed:
		return true
	}
	return false
}

// Step is one named, idempotent action of a migration.
type Step struct {
	Name string
	// Do performs the step. The detail it returns (on success or failure)
	// is shown by `migrate status`: keep it short and free of secrets.
	Do func(ctx context.Context) (detail string, err error)
	// Undo reverses Do; nil means there is nothing to reverse.
	Undo func(ctx context.Context) error
}

// StepState is the journal's record of one step.
type StepState struct {
	Name     string    `json:"name"`
	State    State     `json:"state"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Detail   string    `json:"detail,omitempty"`
	// Error is the text of the last error; step errors are written to
	// disk, so they must not carry secrets.
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
}

type file struct {
	Journal string      `json:"journal"`
	Updated time.Time   `json:"updated"`
	Steps   []StepState `json:"steps"`
}

// Journal is an open journal file. It holds an exclusive lock on the file
// until Close, so two runs of the same migration cannot interleave.
type Journal struct {
	mu    sync.Mutex
	path  string
	lock  *os.File
	steps []StepState
	now   func() time.Time
}

// CorruptError says the journal file exists but cannot be trusted.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s cannot be read: %s. It is damaged or was not written by this version of cosocial; "+
		"move it aside to start the steps afresh (every step will run again)", e.Path, e.Reason)
}

// LockedError says another process has the journal open.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("journal %s is in use by another cosocial process: wait for that run to finish", e.Path)
}

// StepError is a step's Do or Undo failing.
type StepError struct {
	Step string
	Undo bool
	Err  error
}

func (e *StepError) Error() string {
	if e.Undo {
		return fmt.Sprintf("undoing step %s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("step %s: %v", e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Open opens the journal at path, creating it on the first change if it
// does not exist. Steps found running are marked interrupted: whoever ran
// them is gone, since Open holds the lock.
func Open(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		if errors.Is(err, errLocked) {
			return nil, &LockedError{Path: path}
		}
		return nil, fmt.Errorf("locking journal %s: %w", path, err)
	}
	j := &Journal{path: path, lock: lock, now: func() time.Time { return time.Now().UTC() }}
	removeTemps(path)
	if err := j.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return j, nil
}

func (j *Journal) load() error {
	steps, err := parse(j.path, false)
	j.steps = steps
	return err
}

// Read returns a journal's steps without taking it over, for `migrate
// status`; nil when there is no journal yet. While a run holds the
// journal, its running step is shown as running, not interrupted.
func Read(path string) ([]StepState, error) {
	lock, err := lockFile(path + ".lock")
	switch {
	case err == nil:
		defer lock.Close()
		return parse(path, false)
	case errors.Is(err, errLocked):
		return parse(path, true)
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	}
	return nil, err
}

// parse reads a journal file; held says another process has it open, so
// that its running steps are running, not interrupted.
func parse(path string, held bool) ([]StepState, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, &CorruptError{Path: path, Reason: describeJSONError(raw, err)}
	}
	if f.Journal != formatVersion {
		return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("its format is %q, want %q", f.Journal, formatVersion)}
	}
	seen := map[string]bool{}
	for i, s := range f.Steps {
		switch {
		case s.Name == "":
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("step %d has no name", i+1)}
		case seen[s.Name]:
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("step %s is recorded twice", s.Name)}
		case !s.State.valid():
			return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("step %s has unknown state %q", s.Name, s.State)}
		}
		seen[s.Name] = true
		if !held && (s.State == Running || s.State == Undoing) {
			if s.Detail == "" {
				s.Detail = "the process stopped while this step ran"
				if s.State == Undoing {
					s.Detail = "the process stopped while this step was being undone"
				}
			}
			s.State = Interrupted
			f.Steps[i] = s
		}
	}
	return f.Steps, nil
}

func describeJSONError(raw []byte, err error) string {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return "the file is empty"
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if syn.Offset >= int64(len(raw)) {
			return "the file ends in the middle of its JSON"
		}
		return fmt.Sprintf("byte %d of %d is not valid JSON (%v)", syn.Offset, len(raw), syn)
	}
	return err.Error()
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close releases the journal's lock. The record on disk is already
// complete: every change was written when it happened.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lock == nil {
		return nil
	}
	err := j.lock.Close()
	j.lock = nil
	return err
}

// Status is a copy of every step's record, in the order the steps were
// first declared or run.
func (j *Journal) Status() []StepState {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]StepState, len(j.steps))
	copy(out, j.steps)
	return out
}

// RunAll declares every step (so status shows what is still to come) and
// runs them in order, stopping at the first that fails.
func (j *Journal) RunAll(ctx context.Context, steps []Step) error {
	seen := map[string]bool{}
	for _, s := range steps {
		if err := checkStep(s); err != nil {
			return err
		}
		if seen[s.Name] {
			return fmt.Errorf("step %s is listed twice", s.Name)
		}
		seen[s.Name] = true
	}
	j.mu.Lock()
	changed := false
	for _, s := range steps {
		if j.find(s.Name) < 0 {
			j.steps = append(j.steps, StepState{Name: s.Name, State: Pending})
			changed = true
		}
	}
	var err error
	if changed {
		err = j.save()
	}
	j.mu.Unlock()
	if err != nil {
		return err
	}
	for _, s := range steps {
		if err := j.Run(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func checkStep(s Step) error {
	if s.Name == "" {
		return errors.New("a step has no name")
	}
	if s.Do == nil {
		return fmt.Errorf("step %s has nothing to do", s.Name)
	}
	return nil
}

// Run runs the step's Do unless the journal says it is done. The step is
// recorded as running before Do starts; if that record cannot be written,
// Do does not run, since work the journal does not know of could not be
// resumed or undone.
func (j *Journal) Run(ctx context.Context, s Step) error {
	if err := checkStep(s); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	i := j.find(s.Name)
	if i < 0 {
		j.steps = append(j.steps, StepState{Name: s.Name})
		i = len(j.steps) - 1
	}
	if j.steps[i].State == Done {
		j.mu.Unlock()
		return nil
	}
	st := &j.steps[i]
	st.State, st.Started, st.Finished = Running, j.now(), time.Time{}
	st.Detail, st.Error = "", ""
	st.Attempts++
	err := j.save()
	j.mu.Unlock()
	if err != nil {
		return err
	}

	detail, err := j.do(ctx, s)
	if err != nil {
		return errors.Join(&StepError{Step: s.Name, Err: err},
			j.finish(s.Name, Failed, detail, err.Error()))
	}
	return j.finish(s.Name, Done, detail, "")
}

// do runs Do; a panic is recorded as the step failing before it goes on
// up, so that status says which step took the process down.
func (j *Journal) do(ctx context.Context, s Step) (detail string, err error) {
	defer func() {
		if r := recover(); r != nil {
			_ = j.finish(s.Name, Failed, "", fmt.Sprintf("panic: %v", r))
			panic(r)
		}
	}()
	return s.Do(ctx)
}

func (j *Journal) finish(name string, state State, detail, errText string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := j.find(name)
	if i < 0 {
		return fmt.Errorf("step %s vanished from journal %s", name, j.path)
	}
	st := &j.steps[i]
	st.State, st.Finished, st.Detail, st.Error = state, j.now(), detail, errText
	return j.save()
}

// Rollback undoes, in the reverse of the journal's order, those of steps
// that may have changed something: done, failed and interrupted ones, and
// those whose undo failed before. Steps of the journal not given are left
// as they are: a cutover that fails undoes the window, and keeps the bulk
// copies made before it. It stops at the first Undo that fails, so a later
// Rollback picks up there.
func (j *Journal) Rollback(ctx context.Context, steps []Step) error {
	byName := map[string]Step{}
	for _, s := range steps {
		byName[s.Name] = s
	}
	j.mu.Lock()
	var todo []Step
	// The error of the step that failed stays with it once undone: it is
	// why the window was undone, and status tells it.
	kept := map[string]string{}
	for i := len(j.steps) - 1; i >= 0; i-- {
		st := j.steps[i]
		if !st.State.undoable() {
			continue
		}
		if s, ok := byName[st.Name]; ok {
			todo = append(todo, s)
			if st.State == Failed || st.State == Interrupted {
				kept[st.Name] = st.Error
			}
		}
	}
	j.mu.Unlock()

	for _, s := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.Undo == nil {
			if err := j.finish(s.Name, Undone, "nothing to undo", kept[s.Name]); err != nil {
				return err
			}
			continue
		}
		if err := j.finish(s.Name, Undoing, "", ""); err != nil {
			return err
		}
		if err := s.Undo(ctx); err != nil {
			return errors.Join(&StepError{Step: s.Name, Undo: true, Err: err},
				j.finish(s.Name, UndoFailed, "", "undo: "+err.Error()))
		}
		if err := j.finish(s.Name, Undone, "", kept[s.Name]); err != nil {
			return err
		}
	}
	return nil
}

func (j *Journal) find(name string) int {
	for i := range j.steps {
		if j.steps[i].Name == name {
			return i
		}
	}
	return -1
}

// save writes the whole journal beside itself and renames it into place.
// Callers hold j.mu.
func (j *Journal) save() error {
	if j.lock == nil {
		return fmt.Errorf("journal %s is closed", j.path)
	}
	data, err := json.MarshalIndent(file{Journal: formatVersion, Updated: j.now(), Steps: j.steps}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	dir, base := filepath.Split(j.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing journal %s: %w", j.path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), j.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing journal %s: %w", j.path, err)
	}
	// The rename is durable only once the directory is.
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("writing journal %s: %w", j.path, err)
		}
	}
	return nil
}

// removeTemps clears temporary files left by a process killed mid-save;
// the journal itself is intact, since the rename never happened.
func removeTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base+".tmp-") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
