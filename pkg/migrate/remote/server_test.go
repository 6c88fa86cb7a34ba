package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The sandbox's ssh_config says where a server's sshd listens; only the
// server's own block counts.
func TestSSHConfigPointsAtTheSandboxMachine(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ssh_config")
	os.WriteFile(f, []byte("# the sandbox's machines\nHost 203.0.113.2\n  HostName 127.9.8.2\n  Port 40022\n  User root\n  UserKnownHostsFile \"/a folder/known_hosts\"\n\nHost 203.0.113.3\n  HostName 127.9.8.3\n  Port 40023\n"), 0o600)
	tg := Target{Host: "203.0.113.3", User: "cosocial"}
	if err := applySSHConfig(f, &tg); err != nil || tg.Host != "127.9.8.3" || tg.Port != 40023 || tg.User != "cosocial" {
		t.Errorf("203.0.113.3: %+v, %v", tg, err)
	}
	tg = Target{Host: "203.0.113.2", User: "cosocial"}
	if err := applySSHConfig(f, &tg); err != nil || tg.Host != "127.9.8.2" || tg.Port != 40022 || tg.User != "root" {
		t.Errorf("203.0.113.2: %+v, %v", tg, err)
	}
	tg = Target{Host: "192.0.2.1", User: "cosocial"}
	if err := applySSHConfig(f, &tg); err != nil || tg.Host != "192.0.2.1" || tg.Port != 0 {
		t.Errorf("a host not in the file: %+v, %v", tg, err)
	}
	os.WriteFile(f, []byte("Host 203.0.113.2\n  Port twenty-two\n"), 0o600)
	if err := applySSHConfig(f, &Target{Host: "203.0.113.2"}); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("a bad port: %v", err)
	}
}
