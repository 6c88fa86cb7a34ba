package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lock makes one process at a time the user of a sandbox folder. Two
// would each start simulators over the same records and overwrite each
// other's (a served sandbox and an up on the same description did). The
// second waits, told who holds it through waiting, until the first is
// done or ctx ends. The lock is the kernel's (flock): a holder that dies
// releases it.
func lock(ctx context.Context, dir string, waiting func(holder string)) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking the sandbox %s: %w", dir, err)
		}
		if !told && waiting != nil {
			holder, _ := os.ReadFile(f.Name())
			waiting(strings.TrimSpace(string(holder)))
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Who holds it, for the next one's message.
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("process %d (%s)\n", os.Getpid(), strings.Join(os.Args, " "))), 0)
	return f, nil
}

func unlock(f *os.File) {
	if f != nil {
		f.Truncate(0)
		f.Close() // closing the last descriptor releases the flock
	}
}
