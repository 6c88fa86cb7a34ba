package machines

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh/knownhosts"
)

// writeSSHConfig writes ssh_config and its known_hosts for the machines
// running now: a volunteer reaches one by its public address, and
// OpenSSH checks its host key under the address it really dials.
func (r *Room) writeSSHConfig() error {
	knownHosts := filepath.Join(r.dir, "known_hosts")
	var cfg, known strings.Builder
	fmt.Fprintf(&cfg, "# The sandbox's servers, by their public addresses: ssh -F %s <address>\n# Written by cosocial; rewritten as servers come and go.\n", r.SSHConfig())
	for _, m := range r.sorted() {
		name := m.Public
		if name == "" {
			name = m.Loopback
		}
		fmt.Fprintf(&cfg, "\n# server %s\nHost %s\n  HostName %s\n  Port %d\n  User root\n  UserKnownHostsFile \"%s\"\n  StrictHostKeyChecking yes\n",
			m.ID, name, m.Loopback, m.Port, knownHosts)
		dialled := knownhosts.Normalize(net.JoinHostPort(m.Loopback, strconv.Itoa(m.Port)))
		known.WriteString(knownhosts.Line([]string{dialled}, m.hostKey) + "\n")
		if m.Public != "" {
			known.WriteString(knownhosts.Line([]string{m.Public}, m.hostKey) + "\n")
		}
	}
	if err := writeFileAtomic(knownHosts, []byte(known.String()), 0o644); err != nil {
		return err
	}
	return writeFileAtomic(r.SSHConfig(), []byte(cfg.String()), 0o644)
}
