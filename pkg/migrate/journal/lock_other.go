//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package journal

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// lockFile only opens the lock file where flock is not available: two runs
// of one migration at once are then the operator's to avoid.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
