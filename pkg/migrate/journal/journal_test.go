package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The kill test re-runs this test binary as a child that SIGKILLs itself
// in the middle of a step: no deferred code, no clean-up, as in real life.
const childEnv = "COSOCIAL_JOURNAL_TEST_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		childMain(path)
		os.Exit(3) // unreachable: the child kills itself
	}
	os.Exit(m.Run())
}

// counter records in a file how often each step's Do ran, across processes.
func count(dir, name string) {
	f, err := os.OpenFile(filepath.Join(dir, "ran"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(f, name)
	f.Close()
}

func ran(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ran"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func cutoverSteps(dir string, kill string) []Step {
	var steps []Step
	for _, name := range []string{"stop-writers", "final-db-sync", "rewrite-env", "start-target"} {
		steps = append(steps, Step{
			Name: name,
			Do: func(context.Context) (string, error) {
				count(dir, name)
				if name == kill {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {} // the signal lands before this returns
				}
				return name + " ok", nil
			},
		})
	}
	return steps
}

func childMain(path string) {
	j, err := Open(path)
	if err != nil {
		panic(err)
	}
	j.RunAll(context.Background(), cutoverSteps(filepath.Dir(path), "rewrite-env"))
}

func TestKilledProcessResumesAtItsStep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cutover.journal")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child should have been killed, got %v", err)
	}

	j, err := Open(path) // also proves the dead child's lock is gone
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	want := map[string]State{"stop-writers": Done, "final-db-sync": Done, "rewrite-env": Interrupted, "start-target": Pending}
	for _, st := range j.Status() {
		if st.State != want[st.Name] {
			t.Errorf("after the kill, %s is %s, want %s", st.Name, st.State, want[st.Name])
		}
	}

	if err := j.RunAll(context.Background(), cutoverSteps(dir, "")); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(ran(t, dir), " ")
	if wantRan := "stop-writers final-db-sync rewrite-env rewrite-env start-target"; got != wantRan {
		t.Errorf("steps ran %q, want %q (done steps not again, the interrupted one again)", got, wantRan)
	}
	for _, st := range j.Status() {
		if st.State != Done {
			t.Errorf("%s is %s after resume", st.Name, st.State)
		}
		if st.Name == "rewrite-env" && st.Attempts != 2 {
			t.Errorf("rewrite-env attempts = %d, want 2", st.Attempts)
		}
	}
}

func TestPanicAndErrorMidStepThenResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.json")
	calls := map[string]int{}
	step := func(name string, fail func() error) Step {
		return Step{Name: name, Do: func(context.Context) (string, error) {
			calls[name]++
			if fail != nil {
				if err := fail(); err != nil {
					return "half done", err
				}
			}
			return "", nil
		}}
	}

	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	steps := []Step{
		step("a", nil),
		step("b", func() error { panic("disk on fire") }),
		step("c", nil),
	}
	func() {
		defer func() {
			if r := recover(); r != "disk on fire" {
				t.Fatalf("the step's panic should go on up, got %v", r)
			}
		}()
		j.RunAll(context.Background(), steps)
	}()
	if st := j.Status()[1]; st.State != Failed || !strings.Contains(st.Error, "panic: disk on fire") {
		t.Errorf("after a panic b is %+v", st)
	}
	j.Close()

	// A new journal on the same file: b now returns an error half-way.
	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("connection reset")
	steps[1] = step("b", func() error { return boom })
	err = j.RunAll(context.Background(), steps)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "b" || !errors.Is(err, boom) {
		t.Fatalf("RunAll = %v, want b's error", err)
	}
	if st := j.Status()[1]; st.State != Failed || st.Detail != "half done" || st.Error != "connection reset" {
		t.Errorf("b is %+v", st)
	}
	j.Close()

	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	steps[1] = step("b", nil)
	if err := j.RunAll(context.Background(), steps); err != nil {
		t.Fatal(err)
	}
	if calls["a"] != 1 || calls["b"] != 3 || calls["c"] != 1 {
		t.Errorf("calls = %v, want a once, b three times, c once", calls)
	}
}

func TestRollbackUndoesInReverse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.json")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var undone []string
	undoFails := true
	mk := func(name string, doErr error, undo bool) Step {
		s := Step{Name: name, Do: func(context.Context) (string, error) { return "", doErr }}
		if undo {
			s.Undo = func(context.Context) error {
				if name == "stop-writers" && undoFails {
					undoFails = false
					return errors.New("source still down")
				}
				undone = append(undone, name)
				return nil
			}
		}
		return s
	}
	steps := []Step{
		mk("stop-writers", nil, true),
		mk("final-db-sync", nil, false),
		mk("rewrite-env", nil, true),
		mk("start-target", errors.New("unit failed"), true),
		mk("switch-dns", nil, true),
	}
	if err := j.RunAll(context.Background(), steps); err == nil {
		t.Fatal("start-target should fail")
	}

	err = j.Rollback(context.Background(), steps)
	if !strings.Contains(err.Error(), "undoing step stop-writers: source still down") {
		t.Fatalf("Rollback = %v", err)
	}
	if got := strings.Join(undone, " "); got != "start-target rewrite-env" {
		t.Errorf("undone %q, want the failed step then done steps in reverse", got)
	}
	state := func() string {
		var s []string
		for _, st := range j.Status() {
			s = append(s, st.Name+"="+string(st.State))
		}
		return strings.Join(s, " ")
	}
	if got, want := state(), "stop-writers=undo-failed final-db-sync=undone rewrite-env=undone start-target=undone switch-dns=pending"; got != want {
		t.Errorf("after a failed undo:\n got %s\nwant %s", got, want)
	}

	if err := j.Rollback(context.Background(), steps); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(undone, " "); got != "start-target rewrite-env stop-writers" {
		t.Errorf("a second rollback should pick up where the first stopped, undone %q", got)
	}

	// Undone steps run again on the next run.
	if err := j.Run(context.Background(), steps[0]); err != nil {
		t.Fatal(err)
	}
	if st := j.Status()[0]; st.State != Done || st.Attempts != 2 {
		t.Errorf("stop-writers re-run: %+v", st)
	}
}

// A cutover's rollback undoes the window's steps and keeps the bulk
// copies before it.
func TestRollbackUndoesOnlyTheStepsGiven(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "j.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var undone []string
	step := func(name string) Step {
		return Step{Name: name, Do: func(context.Context) (string, error) { return "", nil },
			Undo: func(context.Context) error { undone = append(undone, name); return nil }}
	}
	bulk, stop, start := step("bulk"), step("stop"), step("start")
	if err := j.RunAll(context.Background(), []Step{bulk, stop, start}); err != nil {
		t.Fatal(err)
	}
	if err := j.Rollback(context.Background(), []Step{stop, start}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(undone, " ") != "start stop" {
		t.Fatalf("undone %v", undone)
	}
	for _, s := range j.Status() {
		if want := map[string]State{"bulk": Done, "stop": Undone, "start": Undone}[s.Name]; s.State != want {
			t.Errorf("%s is %s, want %s", s.Name, s.State, want)
		}
	}
}

func TestDamagedJournalIsRefusedByName(t *testing.T) {
	for name, content := range map[string]string{
		"torn":    `{"journal":"cosocial-steps/1","steps":[{"name":"stop-wri`,
		"garbage": "\x00\x01PK\x03\x04 not json",
		"empty":   "",
		"version": `{"journal":"cosocial-steps/9","steps":[]}`,
		"state":   `{"journal":"cosocial-steps/1","steps":[{"name":"a","state":"sleeping"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cutover.journal")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			j, err := Open(path)
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), path) {
				if j != nil {
					j.Close()
				}
				t.Fatalf("Open = %v, want a CorruptError naming %s", err, path)
			}
			t.Log(err)
			// The lock is released: after moving the file aside, it opens.
			os.Rename(path, path+".bad")
			j, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			j.Close()
		})
	}
}

func TestSecondOpenIsRefusedWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.json")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open = %v, want LockedError", err)
	}
	j.Close()
	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
}

func TestLeftoverTempFileIsIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.json")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Run(context.Background(), Step{Name: "a", Do: func(context.Context) (string, error) { return "copied 3 tables", nil }}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// What a kill between CreateTemp and rename leaves behind.
	os.WriteFile(path+".tmp-123", []byte(`{"journal":"cosoc`), 0o600)
	j, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if st := j.Status(); len(st) != 1 || st[0].State != Done || st[0].Detail != "copied 3 tables" {
		t.Errorf("status %+v", st)
	}
	if _, err := os.Stat(path + ".tmp-123"); !os.IsNotExist(err) {
		t.Error("the leftover temp file should be removed")
	}
}

func TestCancelledContextStartsNothing(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "j.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = j.Run(ctx, Step{Name: "a", Do: func(context.Context) (string, error) {
		t.Error("Do ran under a cancelled context")
		return "", nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
}
