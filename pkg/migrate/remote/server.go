package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Server is a server cosocial made, as its stack knows it: the host key
// it gave the server in its cloud-init and the login key of the account
// that cloud-init makes. No known_hosts file is read: the stack pins the
// key.
type Server struct {
	Address  string
	HostKey  string // authorized_keys form
	LoginKey string // PEM, a secret of the stack's state
	User     string
	// SSHConfig, when set, is an ssh_config file saying where the
	// server's sshd really listens (the sandbox's machines).
	SSHConfig string
}

// DialServer logs in to a server cosocial made, with the login key it
// made for it, accepting only the host key it gave it.
func DialServer(ctx context.Context, s Server) (*Client, error) {
	if s.HostKey == "" || s.LoginKey == "" {
		return nil, errors.New("the server has no host and login keys from cosocial in the state (it was made before cosocial made them, or its creation's answer was lost): nothing can log in to it safely; delete it at the provider and run up again, which makes a new one")
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKey))
	if err != nil {
		return nil, fmt.Errorf("the server's pinned host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(s.LoginKey))
	if err != nil {
		return nil, errors.New("the server's login key in the state cannot be read")
	}
	t := Target{Host: s.Address, User: s.User, AgentSocket: "none", Signer: signer, HostKey: hostKey, PinnedBy: "the stack's state"}
	if s.SSHConfig != "" {
		if err := applySSHConfig(s.SSHConfig, &t); err != nil {
			return nil, err
		}
	}
	return Dial(ctx, t)
}

// applySSHConfig reads the HostName, Port and User an ssh_config file
// gives the target's host, as OpenSSH's client would: the sandbox writes
// one saying on which loopback address and port each server's sshd
// listens. Only the first matching Host block counts, and only exact
// names (the sandbox's file has no patterns).
func applySSHConfig(file string, t *Target) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("the ssh_config %s: %w", file, err)
	}
	in := false
	for n, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		key := strings.ToLower(f[0])
		if len(f) < 2 {
			return fmt.Errorf("%s:%d: want a keyword and its value", file, n+1)
		}
		switch {
		case key == "host":
			if in {
				return nil
			}
			in = f[1] == t.Host
		case !in:
		case key == "hostname":
			t.Host = f[1]
		case key == "port":
			p, err := strconv.Atoi(f[1])
			if err != nil || p <= 0 || p > 65535 {
				return fmt.Errorf("%s:%d: port %q is not a port number", file, n+1, f[1])
			}
			t.Port = p
		case key == "user":
			t.User = f[1]
		}
	}
	return nil
}
