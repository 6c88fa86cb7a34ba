package remote

import (
	"crypto"
	"fmt"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cosocial/cosocial/pkg/migrate/remote/sshdtest"
)

// testSSHD is sshdtest's server as these tests use it: as the account
// running the tests.
type testSSHD struct {
	*sshdtest.Server
	User string
	log  logReader
}

type logReader struct{ s *sshdtest.Server }

func (l logReader) String() string { return l.s.Log() }

func startSSHD(t *testing.T, hostKeyTypes []string, authorized ...ssh.PublicKey) *testSSHD {
	t.Helper()
	s := sshdtest.Start(t, hostKeyTypes, authorized...)
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return &testSSHD{Server: s, User: u.Username, log: logReader{s}}
}

func (s *testSSHD) knownHosts(t *testing.T, keys ...ssh.PublicKey) string {
	return s.KnownHosts(t, keys...)
}

func (s *testSSHD) target(knownHosts string) Target {
	return Target{Host: s.Host, Port: s.Port, User: s.User, KnownHosts: knownHosts, AgentSocket: "none", ConnectTimeout: 10 * time.Second}
}

func newKey(t *testing.T, typ string) crypto.Signer   { return sshdtest.NewKey(t, typ) }
func signer(t *testing.T, k crypto.Signer) ssh.Signer { return sshdtest.Signer(t, k) }
func newSignerKey(t *testing.T) ssh.PublicKey         { return signer(t, newKey(t, "ed25519")).PublicKey() }

func writeKey(t *testing.T, path string, k crypto.Signer, passphrase []byte) {
	sshdtest.WriteKey(t, path, k, passphrase)
}

// userKey is a fresh client key, written to a file (encrypted when
// passphrase is set).
func userKey(t *testing.T, passphrase []byte) (crypto.Signer, string) {
	t.Helper()
	k := newKey(t, "ed25519")
	path := filepath.Join(t.TempDir(), fmt.Sprintf("id_ed25519_%d", time.Now().UnixNano()))
	writeKey(t, path, k, passphrase)
	return k, path
}
