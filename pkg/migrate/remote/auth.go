package remote

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// AuthError is the server refusing every key offered.
type AuthError struct {
	Target string   // user@host:port
	Tried  []string // what was offered, by source and fingerprint
}

func (e *AuthError) Error() string {
	tried := "no key"
	if len(e.Tried) > 0 {
		tried = strings.Join(e.Tried, "; ")
	}
	return fmt.Sprintf("ssh %s: the server refused every key offered (%s); add the public key to that user's ~/.ssh/authorized_keys on the server", e.Target, tried)
}

// auth gathers the keys to offer. x/crypto tries one "publickey" method
// only, so the agent's keys and the key file go into a single list, the
// agent's first.
type auth struct {
	target    string
	agentConn net.Conn
	agent     agent.ExtendedAgent
	agentPath string
	key       *lazyKey
	signer    ssh.Signer

	mu    sync.Mutex
	tried []string
	err   error // a key file that could not be unlocked; reported as is
}

func newAuth(t Target) (*auth, error) {
	a := &auth{target: t.User + "@" + t.addr(), signer: t.Signer}
	sock, explicit := t.AgentSocket, t.AgentSocket != ""
	if !explicit {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock != "" && sock != "none" {
		conn, err := net.Dial("unix", sock)
		switch {
		case err == nil:
			a.agentConn, a.agent, a.agentPath = conn, agent.NewClient(conn), sock
		case explicit:
			return nil, fmt.Errorf("ssh %s: cannot reach the ssh-agent at %s: %w", a.target, sock, err)
		default:
			// A stale SSH_AUTH_SOCK is common; the key file may still do.
			a.tried = append(a.tried, fmt.Sprintf("ssh-agent at %s unreachable", sock))
		}
	}
	if t.KeyFile != "" {
		k, err := loadKey(t.KeyFile, t.Passphrase)
		if err != nil {
			a.close()
			return nil, err
		}
		k.onErr = func(err error) {
			a.mu.Lock()
			a.err = err
			a.mu.Unlock()
		}
		a.key = k
	}
	if a.agent == nil && a.key == nil && a.signer == nil {
		return nil, fmt.Errorf("ssh %s: no key to log in with: start ssh-agent and add a key (ssh-add), or give a key file", a.target)
	}
	return a, nil
}

func (a *auth) methods() []ssh.AuthMethod {
	return []ssh.AuthMethod{ssh.PublicKeysCallback(a.signers)}
}

func (a *auth) signers() ([]ssh.Signer, error) {
	var out []ssh.Signer
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.agent != nil {
		s, err := a.agent.Signers()
		if err != nil {
			a.tried = append(a.tried, fmt.Sprintf("ssh-agent at %s failed: %v", a.agentPath, err))
		} else {
			var fps []string
			for _, k := range s {
				fps = append(fps, ssh.FingerprintSHA256(k.PublicKey()))
			}
			a.tried = append(a.tried, fmt.Sprintf("ssh-agent at %s: %d key(s) %s", a.agentPath, len(s), strings.Join(fps, " ")))
			out = append(out, s...)
		}
	}
	if a.key != nil {
		a.tried = append(a.tried, fmt.Sprintf("key file %s: %s", a.key.path, ssh.FingerprintSHA256(a.key.pub)))
		out = append(out, a.key)
	}
	if a.signer != nil {
		a.tried = append(a.tried, "the stack's login key: "+ssh.FingerprintSHA256(a.signer.PublicKey()))
		out = append(out, a.signer)
	}
	return out, nil
}

func (a *auth) close() {
	if a.agentConn != nil {
		a.agentConn.Close()
	}
}

// lazyKey is a key file whose passphrase is asked for only when the server
// has said it would accept the key: OpenSSH-format files keep the public
// half in clear, so it can be offered before it is unlocked.
type lazyKey struct {
	path   string
	pub    ssh.PublicKey
	raw    []byte
	ask    func() ([]byte, error)
	signer ssh.Signer
	onErr  func(error)
	// prompting is told when ask starts and ends, to lift the handshake's
	// deadline meanwhile.
	prompting func(on bool)
}

func loadKey(path string, ask func() ([]byte, error)) (*lazyKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ssh key file: %w", err)
	}
	k := &lazyKey{path: path, raw: raw, ask: ask}
	s, err := ssh.ParsePrivateKey(raw)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		k.signer, k.pub = s, s.PublicKey()
	case errors.As(err, &missing) && missing.PublicKey != nil:
		k.pub = missing.PublicKey
	case errors.As(err, &missing):
		// Old PEM files hide the public key too: unlock now.
		if err := k.unlock(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("ssh key file %s is not a private key ssh can read: %w", path, err)
	}
	return k, nil
}

func (k *lazyKey) unlock() error {
	if k.signer != nil {
		return nil
	}
	if k.ask == nil {
		return fmt.Errorf("ssh key file %s is protected by a passphrase and none was asked for: add the key to ssh-agent (ssh-add %s) instead", k.path, k.path)
	}
	if k.prompting != nil {
		k.prompting(true)
	}
	pass, err := k.ask()
	if k.prompting != nil {
		k.prompting(false)
	}
	if err != nil {
		return fmt.Errorf("passphrase for ssh key file %s: %w", k.path, err)
	}
	s, err := ssh.ParsePrivateKeyWithPassphrase(k.raw, pass)
	clear(pass)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return fmt.Errorf("ssh key file %s: wrong passphrase", k.path)
	}
	if err != nil {
		return fmt.Errorf("ssh key file %s cannot be unlocked: %w", k.path, err)
	}
	k.signer, k.pub = s, s.PublicKey()
	return nil
}

func (k *lazyKey) PublicKey() ssh.PublicKey { return k.pub }

func (k *lazyKey) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return k.SignWithAlgorithm(rand, data, "")
}

func (k *lazyKey) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	if err := k.unlock(); err != nil {
		if k.onErr != nil {
			k.onErr(err)
		}
		return nil, err
	}
	if as, ok := k.signer.(ssh.AlgorithmSigner); ok {
		return as.SignWithAlgorithm(rand, data, algorithm)
	}
	return k.signer.Sign(rand, data)
}
