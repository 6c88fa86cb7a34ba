// Package remote runs the migration's cutover on the app servers over SSH:
// commands, atomic file writes (the app's .env.production), the rewrite of
// that env file, and the health check that says the app came back.
//
// A server's host key is always checked against a known_hosts file; an
// unknown or changed key stops the connection before anything runs on it.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Target says how to reach one server.
type Target struct {
	Host string
	Port int // 22 when zero
	User string
	// KnownHosts is the known_hosts file that vouches for the server's
	// host key; ~/.ssh/known_hosts when empty.
	KnownHosts string
	// AgentSocket is the ssh-agent to ask for keys; $SSH_AUTH_SOCK when
	// empty. Set it to "none" to use no agent.
	AgentSocket string
	// KeyFile is a private key to offer after the agent's keys.
	KeyFile string
	// Passphrase is asked only if KeyFile is encrypted and the agent's
	// keys were not enough. The bytes are wiped after use.
	Passphrase func() ([]byte, error)
	// ConnectTimeout bounds the TCP connect and SSH handshake; 20s when zero.
	ConnectTimeout time.Duration
	// Signer is a key held in memory (one the tool made and keeps in the
	// stack's encrypted state), offered after the agent's and KeyFile's.
	Signer ssh.Signer
	// HostKey, when set, is the one key the server may offer, pinned
	// where the tool learned it (the stack's state), and KnownHosts is
	// not read; PinnedBy names where it came from, for the error.
	HostKey  ssh.PublicKey
	PinnedBy string
}

// addr is host:port, as known_hosts and error messages name the server.
func (t Target) addr() string {
	port := t.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(port))
}

// Client is a connection to one server.
type Client struct {
	ssh  *ssh.Client
	name string // user@host:port, for errors
}

// Dial connects and authenticates. Host key problems come back as
// *HostKeyError and failed logins as *AuthError.
func Dial(ctx context.Context, t Target) (*Client, error) {
	if t.Host == "" {
		return nil, errors.New("ssh: no host given")
	}
	if t.User == "" {
		return nil, fmt.Errorf("ssh %s: no user given", t.Host)
	}
	addr := t.addr()
	name := t.User + "@" + addr

	var hostKeys *hostKeyChecker
	if t.HostKey != nil {
		hostKeys = pinnedHostKey(t.HostKey, t.PinnedBy, addr)
	} else {
		known, err := knownHostsPath(t.KnownHosts)
		if err != nil {
			return nil, err
		}
		if hostKeys, err = newHostKeyChecker(known, addr); err != nil {
			return nil, err
		}
	}
	a, err := newAuth(t)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              a.methods(),
		HostKeyCallback:   hostKeys.check,
		HostKeyAlgorithms: hostKeys.algorithms(),
	}

	timeout := t.ConnectTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}
	// The handshake has no context of its own: a deadline bounds it and
	// cancellation closes the connection under it.
	conn.SetDeadline(time.Now().Add(timeout))
	if a.key != nil {
		// A person typing a passphrase is not a stalled server.
		a.key.prompting = func(on bool) {
			if on {
				conn.SetDeadline(time.Time{})
			} else {
				conn.SetDeadline(time.Now().Add(timeout))
			}
		}
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	cancelled := !stop()
	if err != nil {
		conn.Close()
		a.close()
		switch {
		case hostKeys.err != nil:
			return nil, hostKeys.err
		case cancelled:
			return nil, fmt.Errorf("ssh %s: %w", name, ctx.Err())
		case a.err != nil:
			return nil, a.err
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &AuthError{Target: name, Tried: a.tried}
		}
		return nil, fmt.Errorf("ssh %s: %w", name, err)
	}
	if cancelled {
		c.Close()
		a.close()
		return nil, fmt.Errorf("ssh %s: %w", name, ctx.Err())
	}
	a.close() // the agent is needed for the login only
	conn.SetDeadline(time.Time{})
	return &Client{ssh: ssh.NewClient(c, chans, reqs), name: name}, nil
}

func knownHostsPath(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no known_hosts file given and no home folder to find ~/.ssh/known_hosts in: %w", err)
	}
	return filepath.Join(home, ".ssh", "known_hosts"), nil
}

// Close ends the connection.
func (c *Client) Close() error {
	return c.ssh.Close()
}

// ExitError is a remote command that ran and did not succeed.
type ExitError struct {
	Target string // user@host:port
	Cmd    string // the command, or what it was for
	Status int    // the exit status; -1 if the command was killed by a signal
	Signal string // the signal that killed it, if any
	Stderr string // the end of its standard error
}

func (e *ExitError) Error() string {
	how := fmt.Sprintf("exited with status %d", e.Status)
	if e.Signal != "" {
		how = "was killed by SIG" + e.Signal
	}
	msg := fmt.Sprintf("%s: %q %s", e.Target, e.Cmd, how)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// ExitStatus is the remote command's exit status.
func (e *ExitError) ExitStatus() int { return e.Status }

// Run runs cmd through the remote user's shell and returns what it wrote.
// A non-zero exit is an *ExitError. The command's input is empty.
//
// Cancelling ctx stops the command: its process group gets SIGTERM, and
// SIGKILL five seconds later. (OpenSSH ignores signal requests in root
// sessions, so a small sh wrapper watches the session's input and does the
// killing when it closes; the same happens if the connection drops.)
// Children that left the process group, like daemons, live on.
//
// Commands appear in errors and in the server's process list: never put a
// secret on a command line; send it with WriteFile.
func (c *Client) Run(ctx context.Context, cmd string) (stdout, stderr string, err error) {
	wrapped := "sh -c " + ShellQuote(watchScript) + " cosocial-run " + ShellQuote(cmd)
	out, errOut, err := c.run(ctx, wrapped, cmd, nil)
	return string(out), string(errOut), err
}

// watchScript runs $1 with the login shell and stops its process group
// when the session's input ends, which Run holds open until it is done
// or cancelled. (Background jobs get /dev/null as input unless told
// otherwise, hence fd 3.) On a normal end the watcher goes first, so what the
// command left running in the background is spared.
const watchScript = `exec 3<&0
"${SHELL:-/bin/sh}" -c "$1" </dev/null 3<&- &
c=$!
{ cat <&3 >/dev/null 2>&1; trap '' TERM; kill -TERM 0; sleep 5; kill -KILL 0; } >/dev/null 2>&1 &
w=$!
wait "$c"
s=$?
kill "$w" 2>/dev/null
exit "$s"
`

// run runs cmd; errors name it by what, so that a long script reads as
// what it is for. With no stdin, the session's input stays open until cmd
// ends or ctx is cancelled, for watchScript.
func (c *Client) run(ctx context.Context, cmd, what string, stdin io.Reader) (stdout, stderr []byte, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %q not run: %w", c.name, what, err)
	}
	s, err := c.ssh.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: opening a session: %w", c.name, err)
	}
	defer s.Close()
	var outBuf, errBuf lockedBuffer
	s.Stdout, s.Stderr = &outBuf, &errBuf
	var hold io.Closer = io.NopCloser(nil)
	if stdin != nil {
		s.Stdin = stdin
	} else if hold, err = s.StdinPipe(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if err := s.Start(cmd); err != nil {
		return nil, nil, fmt.Errorf("%s: starting %q: %w", c.name, what, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
		hold.Close()
	case <-ctx.Done():
		s.Signal(ssh.SIGTERM) // honoured in non-root sessions
		hold.Close()
		select {
		case <-done:
		case <-time.After(closeWait):
			s.Close()
		}
		return outBuf.Bytes(), errBuf.Bytes(), fmt.Errorf("%s: %q stopped: %w", c.name, what, ctx.Err())
	}
	stdout, stderr = outBuf.Bytes(), errBuf.Bytes()
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return stdout, stderr, nil
	case errors.As(err, &exit):
		e := &ExitError{Target: c.name, Cmd: what, Status: exit.ExitStatus(), Signal: exit.Signal(), Stderr: tail(stderr, 512)}
		if e.Signal != "" {
			e.Status = -1
		}
		return stdout, stderr, e
	default:
		return stdout, stderr, fmt.Errorf("%s: %q: %w", c.name, what, err)
	}
}

// closeWait bounds how long a cancelled Run waits for the server to
// close the session before returning anyway.
const closeWait = 2 * time.Second

// lockedBuffer collects output that a cancelled Run may read while the
// session's copiers still write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// tail is the last n bytes of b, trimmed, as one line.
func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return string(bytes.ReplaceAll(b, []byte("\n"), []byte(" | ")))
}
