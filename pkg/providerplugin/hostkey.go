package providerplugin

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// withHostKey gives a new server's cloud-init an SSH host key made here,
// so that the tool knows the key before it first connects and refuses any
// other: no trust on first use. The public half becomes the server's
// hostKey output; the private half travels once, in the cloud-init the
// provider keeps for the server, and is in no state, log or output.
func withHostKey(userData string) (withKey, public string, err error) {
	if userData == "" {
		userData = "#cloud-config\n"
	}
	if !strings.HasPrefix(userData, "#cloud-config") {
		return "", "", errors.New("the server's user data is not a #cloud-config: cosocial cannot give it a host key")
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil {
		return "", "", err
	}
	for _, k := range []string{"ssh_keys", "ssh_genkeytypes", "ssh_deletekeys"} {
		if _, ok := doc[k]; ok {
			return "", "", errors.New("the server's cloud-init already sets " + k + ": cosocial makes the host key itself")
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, "cosocial host key")
	if err != nil {
		return "", "", err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	public = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	var b strings.Builder
	b.WriteString(strings.TrimRight(userData, "\n"))
	b.WriteString("\n# The host key cosocial made for this server and pins.\nssh_deletekeys: true\nssh_genkeytypes: [ed25519]\nssh_keys:\n  ed25519_private: |\n")
	for _, line := range strings.Split(strings.TrimSpace(string(pem.EncodeToMemory(block))), "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("  ed25519_public: " + public + "\n")
	return b.String(), public, nil
}
