package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// running is the binary started in the background, with what it prints
// kept and watched.
type running struct {
	t              *testing.T
	cmd            *exec.Cmd
	mu             sync.Mutex
	stdout, stderr bytes.Buffer
	changed        chan struct{} // a token whenever output arrives
	done           chan struct{}
	code           int
}

func start(t *testing.T, dir string, env []string, args ...string) *running {
	t.Helper()
	r := &running{t: t, changed: make(chan struct{}, 1), done: make(chan struct{})}
	r.cmd = exec.Command(binary, args...)
	r.cmd.Dir = dir
	r.cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	// A group of its own, as a shell gives a foreground job: Ctrl-C at a
	// terminal reaches every process of it (the engine and the plugin
	// too), and interrupt sends it so.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outPipe, _ := r.cmd.StdoutPipe()
	errPipe, _ := r.cmd.StderrPipe()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var copies sync.WaitGroup
	for pipe, buf := range map[io.Reader]*bytes.Buffer{outPipe: &r.stdout, errPipe: &r.stderr} {
		copies.Add(1)
		go func() {
			defer copies.Done()
			sc := bufio.NewScanner(pipe)
			for sc.Scan() {
				r.mu.Lock()
				buf.Write(sc.Bytes())
				buf.WriteByte('\n')
				r.mu.Unlock()
				select {
				case r.changed <- struct{}{}:
				default:
				}
			}
		}()
	}
	go func() {
		copies.Wait()
		err := r.cmd.Wait()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			r.code = exitErr.ExitCode()
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	})
	return r
}

// starterFolder is a folder of the test's holding the starter description.
func starterFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(stacks + "/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cosocial.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// interrupt sends sig as a terminal does: to the whole process group.
func (r *running) interrupt(sig syscall.Signal) {
	syscall.Kill(-r.cmd.Process.Pid, sig)
}

// output is what the binary printed so far.
func (r *running) output() (string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stdout.String(), r.stderr.String()
}

// await waits until the output holds want. The deadline only bounds a
// hang: the wait ends on the output, not on a clock.
func (r *running) await(want string) {
	r.t.Helper()
	hang := time.After(5 * time.Minute)
	for {
		if out, errOut := r.output(); strings.Contains(out+errOut, want) {
			return
		}
		select {
		case <-r.changed:
		case <-r.done:
			if out, errOut := r.output(); !strings.Contains(out+errOut, want) {
				r.t.Fatalf("exited %d without printing %q:\n%s%s", r.code, want, out, errOut)
			}
			return
		case <-hang:
			out, errOut := r.output()
			r.t.Fatalf("no %q after 5 minutes:\n%s%s", want, out, errOut)
		}
	}
}

// exit waits for the binary to end and returns its exit status.
func (r *running) exit() int {
	r.t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(5 * time.Minute):
		out, errOut := r.output()
		r.t.Fatalf("still running after 5 minutes:\n%s%s", out, errOut)
		return -1
	}
}

// stopLeftovers stops what a sandbox left running when its command was
// made to quit at once: PostgreSQL clusters (by their data folders) and
// any process started from under the sandbox's folder.
func stopLeftovers(t *testing.T, home string) {
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "postmaster.pid" {
			exec.Command("pg_ctl", "stop", "-m", "immediate", "-D", filepath.Dir(path)).Run()
		}
		return nil
	})
	for pid := range processesUnder(home) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestAnInterruptStopsCleanly: Ctrl-C during up asks the engine to stop,
// and the process ends with the shell's code for it (130) and says what
// to do next, not "context canceled" and 1. SIGTERM ends it the same way
// with 143.
func TestAnInterruptStopsCleanly(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			env := standUpEnv(t)
			dir := starterFolder(t)
			r := start(t, dir, env, "up", "--sandbox", "--yes")
			r.await("creating ")
			r.interrupt(tc.sig)
			code := r.exit()
			out, errOut := r.output()
			if code != tc.code || !strings.Contains(errOut, "Interrupted: stopping cleanly") || !strings.Contains(errOut, "Stopped by the interrupt") {
				t.Errorf("exit %d, want %d:\n%s%s", code, tc.code, out, errOut)
			}
			if strings.Contains(errOut, "context canceled") {
				t.Errorf("raw cancellation shown:\n%s", errOut)
			}
			// The sandbox was stopped on the way out: nothing of it runs.
			if leftover := processesUnder(sandboxHomeOf(env)); len(leftover) != 0 {
				t.Errorf("still running after a clean stop: %v", leftover)
			}
		})
	}
}

// TestASecondInterruptQuitsAtOnce: a second Ctrl-C does not wait for the
// clean stop.
func TestASecondInterruptQuitsAtOnce(t *testing.T) {
	env := standUpEnv(t)
	t.Cleanup(func() { stopLeftovers(t, sandboxHomeOf(env)) })
	dir := starterFolder(t)
	r := start(t, dir, env, "up", "--sandbox", "--yes")
	r.await("creating ")
	// The engine is frozen, so the clean stop cannot finish before the
	// second Ctrl-C however fast the machine is: the verdict waits on
	// the process's state, not on a race with the clean stop.
	engine := childNamed(t, r.cmd.Process.Pid, "pulumi")
	if err := syscall.Kill(engine, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// A frozen engine cannot stop its plugins, which would otherwise
	// wait out Pulumi's five-minute health check.
	plugins := childrenOf(engine)
	t.Cleanup(func() {
		for _, plugin := range plugins {
			syscall.Kill(plugin, syscall.SIGKILL)
		}
		syscall.Kill(engine, syscall.SIGKILL)
		syscall.Kill(engine, syscall.SIGCONT)
	})
	r.interrupt(syscall.SIGINT)
	r.await("Interrupted: stopping cleanly")
	r.interrupt(syscall.SIGINT)
	code := r.exit()
	out, errOut := r.output()
	if code != 130 || !strings.Contains(errOut, "Quit at once") {
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
}

// TestTheSandboxEndsNormallyOnCtrlC: serving until Ctrl-C is what the
// sandbox command does, so the interrupt is its normal, successful end.
func TestTheSandboxEndsNormallyOnCtrlC(t *testing.T) {
	env := standUpEnv(t)
	r := start(t, stacks+"/starter", env, "sandbox")
	r.await("Ctrl-C")
	r.interrupt(syscall.SIGINT)
	if code := r.exit(); code != 0 {
		out, errOut := r.output()
		t.Errorf("exit %d:\n%s%s", code, out, errOut)
	}
	if leftover := processesUnder(sandboxHomeOf(env)); len(leftover) != 0 {
		t.Errorf("still running after the sandbox stopped: %v", leftover)
	}
}

// childNamed is the PID of parent's child process whose program is
// named name.
func childNamed(t *testing.T, parent int, name string) int {
	t.Helper()
	for _, pid := range childrenOf(parent) {
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
			if program, _, _ := bytes.Cut(cmdline, []byte{0}); filepath.Base(string(program)) == name {
				return pid
			}
		}
	}
	t.Fatalf("process %d has no child named %s", parent, name)
	return 0
}

// childrenOf lists the PIDs of parent's child processes.
func childrenOf(parent int) []int {
	var children []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		stat, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after
		// its closing parenthesis.
		end := bytes.LastIndexByte(stat, ')')
		if fields := strings.Fields(string(stat[end+1:])); len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			children = append(children, pid)
		}
	}
	return children
}

// processesUnder lists the processes (by PID) whose command line names a
// path under dir, with their command lines.
func processesUnder(dir string) map[int]string {
	found := map[int]string{}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil && pid != os.Getpid() {
			found[pid] = string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
	return found
}

// TestAnInterruptedUpLeavesNothingBehind interrupts up on the starter at
// several points (a server building, the bucket's user being made, the
// database creating) and runs it again: the simulator then holds exactly
// one of everything the description names, all of it recorded, and a plan
// has nothing left to do. Before, the second up made a second server and
// a second S3 user.
func TestAnInterruptedUpLeavesNothingBehind(t *testing.T) {
	for _, at := range []string{"creating server.web", "northwind-web: BUILD", "northwind-media user: creating", "northwind-main: CREATING"} {
		t.Run(strings.ReplaceAll(at, " ", "_"), func(t *testing.T) {
			env := standUpEnv(t)
			dir := starterFolder(t)
			r := start(t, dir, env, "up", "--sandbox", "--yes")
			r.await(at)
			r.interrupt(syscall.SIGINT)
			if code := r.exit(); code != 130 && code != 0 {
				out, errOut := r.output()
				t.Fatalf("interrupted up: exit %d\n%s%s", code, out, errOut)
			}
			if out, errOut, code := cosocialEnv(t, dir, env, "up", "--sandbox", "--yes"); code != 0 {
				t.Fatalf("up again: exit %d\n%s%s", code, out, errOut)
			}
			held := simulatorRecords(t, sandboxHomeOf(env))
			want := map[string]int{"instances": 1, "clusters": 1, "users": 1, "buckets": 1}
			for kind, n := range want {
				if held[kind] != n {
					t.Errorf("the simulator holds %d %s, want %d (all: %v)", held[kind], kind, n, held)
				}
			}
			if out, errOut, code := cosocialEnv(t, dir, env, "plan", "--sandbox", "--detailed-exitcode"); code != 0 {
				t.Errorf("plan after the second up: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

// simulatorRecords counts what the OVHcloud simulator holds live, by
// kind.
func simulatorRecords(t *testing.T, home string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for kind, ids := range simulatorIDs(t, home) {
		counts[kind] = len(ids)
	}
	return counts
}

// TestTwoCommandsShareOneSandboxInTurn: while `cosocial sandbox` serves a
// description's sandbox, an up on the same description waits, saying
// why, and goes on once the served one stops; nothing of either run is
// lost (before, up failed with InvalidAccessKeyId and the served sandbox,
// stopping, overwrote the simulator's records).
func TestTwoCommandsShareOneSandboxInTurn(t *testing.T) {
	env := standUpEnv(t)
	dir := starterFolder(t)
	served := start(t, dir, env, "sandbox")
	served.await("Ctrl-C")
	up := start(t, dir, env, "up", "--sandbox", "--yes")
	up.await("is in use by process")
	served.interrupt(syscall.SIGINT)
	if code := served.exit(); code != 0 {
		t.Errorf("the served sandbox: exit %d", code)
	}
	if code := up.exit(); code != 0 {
		out, errOut := up.output()
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := cosocialEnv(t, dir, env, "plan", "--sandbox", "--detailed-exitcode"); code != 0 {
		t.Errorf("plan: exit %d\n%s%s", code, out, errOut)
	}
	if held := simulatorRecords(t, sandboxHomeOf(env)); held["instances"] != 1 || held["clusters"] != 1 || held["users"] != 1 {
		t.Errorf("the simulator holds %v", held)
	}
}
