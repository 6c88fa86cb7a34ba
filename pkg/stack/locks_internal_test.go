package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestALockOfAKilledEngineIsRemoved: the lock a killed engine left on a
// local state is removed, with a word about it; the lock of a live engine
// and one written on another machine are kept.
func TestALockOfAKilledEngineIsRemoved(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	// A live process whose command line names the engine.
	live := exec.Command("sleep", "600")
	live.Args[0] = "pulumi-engine-stand-in"
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Process.Kill(); live.Wait() })
	// Until the child has exec'd, its command line is this test's.
	for i := 0; ; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", live.Process.Pid))
		if strings.Contains(string(b), "pulumi-engine-stand-in") {
			break
		}
		if i == 6000 {
			t.Fatalf("the stand-in engine never exec'd: %q", b)
		}
		time.Sleep(10 * time.Millisecond)
	}

	dir := t.TempDir()
	locks := filepath.Join(dir, ".pulumi", "locks", "organization", "cosocial-northwind", "production")
	if err := os.MkdirAll(locks, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, pid int, hostname string) string {
		b, _ := json.Marshal(map[string]any{"pid": pid, "username": "root", "hostname": hostname, "timestamp": "2026-12-04T04:37:34Z"})
		path := filepath.Join(locks, name+".json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	stale := write("stale", dead.ProcessState.Pid(), host)
	held := write("held", live.Process.Pid, host)
	elsewhere := write("elsewhere", dead.ProcessState.Pid(), host+"-other")

	var said []string
	if err := clearStaleLocks("file://"+dir, "cosocial-northwind", "production", func(m string) { said = append(said, m) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the killed engine's lock is still there (%v)", err)
	}
	for _, kept := range []string{held, elsewhere} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(kept), err)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0], "lock removed") {
		t.Errorf("said %q", said)
	}
	// A state in a bucket is not touched here.
	if err := clearStaleLocks("s3://state?endpoint=x", "cosocial-northwind", "production", nil); err != nil {
		t.Fatal(err)
	}
}
