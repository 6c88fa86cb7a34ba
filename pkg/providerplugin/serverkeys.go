package providerplugin

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// LoginUser is the account the servers' cloud-init makes for the tool and
// the co-op's volunteers (templates/cloud-init/server.yaml.tmpl).
const LoginUser = "cosocial"

// serverKeys are the SSH keys the tool makes for a new server, so that it
// knows the server before it first connects and refuses any other (no
// trust on first use), and can log in without anyone's key: the public
// host key and the login key (private, OpenSSH PEM) become the server's
// hostKey and loginKey outputs, the latter a secret kept in the stack's
// encrypted state. The private host key travels once, in the cloud-init
// the provider keeps for the server, and is in no state, log or output.
type serverKeys struct {
	userData string
	hostKey  string // authorized_keys form
	loginKey string // OpenSSH private key PEM
}

func withServerKeys(userData string) (serverKeys, error) {
	if userData == "" {
		userData = "#cloud-config\n"
	}
	if !strings.HasPrefix(userData, "#cloud-config") {
		return serverKeys{}, errors.New("the server's user data is not a #cloud-config: cosocial cannot give it a host key")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil {
		return serverKeys{}, err
	}
	if len(doc.Content) == 0 {
		// Comments only: an empty mapping to add to.
		doc = yaml.Node{Kind: yaml.DocumentNode, HeadComment: doc.HeadComment, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return serverKeys{}, errors.New("the server's cloud-init is not a mapping")
	}
	top := doc.Content[0]
	for _, k := range []string{"ssh_keys", "ssh_genkeytypes", "ssh_deletekeys"} {
		if mapValue(top, k) != nil {
			return serverKeys{}, errors.New("the server's cloud-init already sets " + k + ": cosocial makes the host key itself")
		}
	}
	hostPriv, hostPub, err := newEd25519("cosocial host key")
	if err != nil {
		return serverKeys{}, err
	}
	loginPriv, loginPub, err := newEd25519("cosocial login key")
	if err != nil {
		return serverKeys{}, err
	}
	if err := authorize(top, LoginUser, loginPub+" cosocial"); err != nil {
		return serverKeys{}, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return serverKeys{}, err
	}
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	b.WriteString(strings.TrimRight(strings.TrimPrefix(out.String(), "#cloud-config\n"), "\n"))
	b.WriteString("\n# The host key cosocial made for this server and pins.\nssh_deletekeys: true\nssh_genkeytypes: [ed25519]\nssh_keys:\n  ed25519_private: |\n")
	for _, line := range strings.Split(strings.TrimSpace(hostPriv), "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("  ed25519_public: " + hostPub + "\n")
	return serverKeys{userData: b.String(), hostKey: hostPub, loginKey: loginPriv}, nil
}

func newEd25519(comment string) (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return "", "", err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))), nil
}

// authorize adds key to the ssh_authorized_keys of the cloud-init user
// named name.
func authorize(top *yaml.Node, name, key string) error {
	if users := mapValue(top, "users"); users != nil && users.Kind == yaml.SequenceNode {
		for _, u := range users.Content {
			if n := mapValue(u, "name"); n == nil || n.Value != name {
				continue
			}
			keys := mapValue(u, "ssh_authorized_keys")
			if keys == nil {
				keys = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
				u.Content = append(u.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "ssh_authorized_keys"}, keys)
			}
			keys.Content = append(keys.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key})
			return nil
		}
	}
	if mapValue(top, "users") != nil {
		return fmt.Errorf("the server's cloud-init makes users, but not %q for cosocial to log in as", name)
	}
	// No users at all: the image's default one, and the tool's.
	var users yaml.Node
	if err := yaml.Unmarshal([]byte(fmt.Sprintf("- default\n- name: %s\n  groups: [sudo]\n  shell: /bin/bash\n  sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n  ssh_authorized_keys:\n    - %s\n", name, key)), &users); err != nil {
		return err
	}
	top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "users"}, users.Content[0])
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
