package pgserver

import (
	"os"
	"testing"
)

// TempDir makes a folder for a test's clusters that the server's account
// can reach even when tests run as root (t.TempDir's folders are private
// to root), and removes it when the test ends.
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cosocial-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
