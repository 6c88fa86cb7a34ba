package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// engineLock is the lock file the engine writes beside a local state while
// an operation runs, and removes at its end.
type engineLock struct {
	PID      int    `json:"pid"`
	Hostname string `json:"hostname"`
}

// clearStaleLocks removes the locks of a local state left by an engine
// that was killed (kill -9, a power cut): nothing removes them otherwise,
// and every later command is refused as "another command is running".
// Only a lock of this machine whose engine process is gone is removed;
// one held elsewhere, or by a live engine, is left alone.
func clearStaleLocks(backendURL, project, stack string, say func(string)) error {
	dir, ok := strings.CutPrefix(backendURL, "file://")
	if !ok {
		return nil
	}
	host, err := os.Hostname()
	if err != nil {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(dir, ".pulumi", "locks", "organization", project, stack, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var l engineLock
		if json.Unmarshal(b, &l) != nil || l.Hostname != host || l.PID <= 0 || engineRuns(l.PID) {
			continue
		}
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the lock left by a stopped run: %w", err)
		}
		os.Remove(f + ".attrs")
		if say != nil {
			say(fmt.Sprintf("The state was still locked by process %d, which ended without unlocking it (it was killed): lock removed", l.PID))
		}
	}
	return nil
}

// engineRuns says whether pid is a running engine: a PID the system gave
// to another program since does not hold the lock.
func engineRuns(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return strings.Contains(string(cmdline), "pulumi")
}
