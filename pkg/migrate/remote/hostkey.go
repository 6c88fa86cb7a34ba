package remote

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyProblem is why a host key was not accepted.
type HostKeyProblem string

const (
	HostUnknown    HostKeyProblem = "unknown"   // known_hosts has no key for the host
	HostKeyChanged HostKeyProblem = "changed"   // known_hosts has other keys for the host
	HostKeyRevoked HostKeyProblem = "revoked"   // the key is marked @revoked
	HostKeyInvalid HostKeyProblem = "unchecked" // the check itself failed
)

// HostKeyError is a server whose host key known_hosts does not vouch for.
// Nothing was sent to the server past the key exchange: no login, no
// command.
type HostKeyError struct {
	Host        string // as known_hosts names it: host, or [host]:port
	Addr        string // host:port dialled
	KnownHosts  string // the file consulted
	FileMissing bool   // that file does not exist
	Problem     HostKeyProblem
	KeyType     string   // the offered key's type, e.g. ssh-ed25519
	Fingerprint string   // the offered key's SHA256 fingerprint
	Expected    []string // what known_hosts holds instead: "file:line type fingerprint"
	// Pinned: the expected key is the one the tool made for the server
	// and keeps in KnownHosts (the stack's state), not a known_hosts file.
	Pinned bool
	Err    error
}

func (e *HostKeyError) Error() string {
	host, port, _ := net.SplitHostPort(e.Addr)
	offered := fmt.Sprintf("the server offered the key %s %s", e.KeyType, e.Fingerprint)
	nothing := "Nothing was run on it."
	console := fmt.Sprintf("ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub", keyscanType(e.KeyType))
	scan := fmt.Sprintf("ssh-keyscan -p %s -t %s %s", port, keyscanType(e.KeyType), host)
	switch e.Problem {
	case HostUnknown:
		where := e.KnownHosts
		if e.FileMissing {
			where += " (which does not exist yet)"
		}
		return fmt.Sprintf("host key check failed for %s: the host is not in %s; %s. %s "+
			"Compare that fingerprint with the server's own, read on the provider's console with %q "+
			"(or compare the output of %q); only if they match, add the key: %s >> %s",
			e.Host, where, offered, nothing, console, scan+" | ssh-keygen -lf -", scan, e.KnownHosts)
	case HostKeyChanged:
		if e.Pinned {
			return fmt.Sprintf("HOST KEY CHANGED for %s: %s, but the key cosocial gave this server at its creation is %s. %s "+
				"Someone may be intercepting the connection, or the server was rebuilt outside cosocial. "+
				"Compare with the server's own key on the provider's console (%q) before anything else.",
				e.Host, offered, strings.Join(e.Expected, " or "), nothing, console)
		}
		return fmt.Sprintf("HOST KEY CHANGED for %s: %s, but %s expects %s. %s "+
			"Someone may be intercepting the connection, or the server was rebuilt. "+
			"Confirm the new fingerprint on the provider's console (%q); only then replace the old entry: "+
			"ssh-keygen -R '%s' -f %s && %s >> %s",
			e.Host, offered, e.KnownHosts, strings.Join(e.Expected, " or "), nothing,
			console, e.Host, e.KnownHosts, scan, e.KnownHosts)
	case HostKeyRevoked:
		return fmt.Sprintf("host key check failed for %s: %s, which %s marks @revoked (%s). %s",
			e.Host, offered, e.KnownHosts, strings.Join(e.Expected, ", "), nothing)
	default:
		return fmt.Sprintf("host key check failed for %s against %s: %v; %s. %s", e.Host, e.KnownHosts, e.Err, offered, nothing)
	}
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// keyscanType is the short key type ssh-keyscan -t and host key file
// names use.
func keyscanType(keyType string) string {
	switch {
	case strings.Contains(keyType, "ed25519"):
		return "ed25519"
	case strings.Contains(keyType, "ecdsa"):
		return "ecdsa"
	case strings.Contains(keyType, "rsa"):
		return "rsa"
	}
	return keyType
}

type hostKeyChecker struct {
	file    string
	missing bool
	addr    string
	cb      ssh.HostKeyCallback
	want    []knownhosts.KnownKey // keys known_hosts holds for addr
	err     *HostKeyError
}

func newHostKeyChecker(file, addr string) (*hostKeyChecker, error) {
	h := &hostKeyChecker{file: file, addr: addr}
	cb, err := knownhosts.New(file)
	if errors.Is(err, fs.ErrNotExist) {
		// Go on with no known keys: the handshake then fails as an unknown
		// host, and the error can show the key the server offers.
		h.missing = true
		cb, err = knownhosts.New()
	}
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts file: %w", err)
	}
	h.cb = cb
	// Asking about a key no host has lists every key known for this one.
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil, err
	}
	var ke *knownhosts.KeyError
	if errors.As(cb(addr, tcpAddr(addr), probe), &ke) {
		h.want = ke.Want
	}
	return h, nil
}

// algorithms puts the key types known_hosts holds for the host first, so a
// server with several host keys offers the one we can check rather than
// whichever the client would prefer (which would look like a changed key).
func (h *hostKeyChecker) algorithms() []string {
	if len(h.want) == 0 {
		return nil
	}
	var algos []string
	for _, k := range h.want {
		t := k.Key.Type()
		if t == ssh.KeyAlgoRSA {
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		} else {
			algos = append(algos, t)
		}
	}
	algos = append(algos, ssh.SupportedAlgorithms().HostKeys...)
	var out []string
	for _, a := range algos {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func (h *hostKeyChecker) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := h.cb(hostname, remote, key)
	if err == nil {
		return nil
	}
	e := &HostKeyError{
		Host:        knownhosts.Normalize(h.addr),
		Addr:        h.addr,
		KnownHosts:  h.file,
		FileMissing: h.missing,
		KeyType:     key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key),
		Problem:     HostKeyInvalid,
		Err:         err,
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &ke) && len(ke.Want) == 0:
		e.Problem = HostUnknown
	case errors.As(err, &ke):
		e.Problem = HostKeyChanged
		for _, k := range ke.Want {
			e.Expected = append(e.Expected, describeKnown(k))
		}
	case errors.As(err, new(*pinnedMismatch)):
		e.Problem = HostKeyChanged
		e.Pinned = true
		e.Expected = []string{err.(*pinnedMismatch).expected}
	case errors.As(err, &re):
		e.Problem = HostKeyRevoked
		e.Expected = []string{describeKnown(re.Revoked)}
	}
	h.err = e
	return e
}

func describeKnown(k knownhosts.KnownKey) string {
	return fmt.Sprintf("%s %s (line %d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Line)
}

// pinnedHostKey accepts the one key the tool learned for the server
// (pinnedBy says where it keeps it) and refuses any other, with both
// fingerprints side by side.
func pinnedHostKey(want ssh.PublicKey, pinnedBy, addr string) *hostKeyChecker {
	h := &hostKeyChecker{file: pinnedBy, addr: addr}
	wantLine := fmt.Sprintf("%s %s (%s)", want.Type(), ssh.FingerprintSHA256(want), pinnedBy)
	h.want = []knownhosts.KnownKey{{Key: want, Filename: pinnedBy}}
	h.cb = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if bytes.Equal(key.Marshal(), want.Marshal()) {
			return nil
		}
		return &pinnedMismatch{expected: wantLine}
	}
	return h
}

type pinnedMismatch struct{ expected string }

func (e *pinnedMismatch) Error() string { return "not the pinned key " + e.expected }

type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }
