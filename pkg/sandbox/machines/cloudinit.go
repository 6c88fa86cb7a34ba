package machines

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

// cloudKeys are what a machine keeps of its cloud-init: the host key
// (OpenSSH PEM) and the authorized_keys file.
type cloudKeys struct {
	hostKey    string
	authorized string
}

// cloudConfig is the part of a #cloud-config that cloud-init's SSH
// module reads.
type cloudConfig struct {
	SSHKeys struct {
		Ed25519Private string `yaml:"ed25519_private"`
		Ed25519Public  string `yaml:"ed25519_public"`
	} `yaml:"ssh_keys"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
	// Users is a list of "default" and mappings; cloud-init also takes
	// a string, which names users with no keys.
	Users yaml.Node `yaml:"users"`
}

// readCloudConfig takes the keys from a server's user data. Errors never
// quote it: it may hold secrets.
func readCloudConfig(userData string) (cloudKeys, error) {
	var cc cloudConfig
	// Other user data (a shell script, say) sets no keys.
	if strings.HasPrefix(userData, "#cloud-config") {
		if err := yaml.Unmarshal([]byte(userData), &cc); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				return cloudKeys{}, errors.New("its cloud-init has ssh_keys, ssh_authorized_keys or users of the wrong form")
			}
			return cloudKeys{}, errors.New("its cloud-init is not YAML: " + err.Error())
		}
	}
	var keys cloudKeys
	if p := cc.SSHKeys.Ed25519Private; p != "" {
		signer, err := ssh.ParsePrivateKey([]byte(p))
		if err != nil {
			return keys, errors.New("its cloud-init's ssh_keys.ed25519_private is not an OpenSSH private key: " + err.Error())
		}
		if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
			return keys, errors.New("its cloud-init's ssh_keys.ed25519_private is a " + signer.PublicKey().Type() + " key")
		}
		if pub := cc.SSHKeys.Ed25519Public; pub != "" {
			declared, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
			if err != nil || string(declared.Marshal()) != string(signer.PublicKey().Marshal()) {
				return keys, errors.New("its cloud-init's ssh_keys.ed25519_public is not the public half of ed25519_private")
			}
		}
		keys.hostKey = strings.TrimSpace(p) + "\n"
	} else {
		// No key given: the machine makes its own, as cloud-init does.
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return keys, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return keys, err
		}
		keys.hostKey = string(pem.EncodeToMemory(block))
	}

	// Every user's keys let in root: the host has none of the accounts
	// a server's cloud-init makes.
	authorized := cc.SSHAuthorizedKeys
	if cc.Users.Kind == yaml.SequenceNode {
		for _, u := range cc.Users.Content {
			if u.Kind != yaml.MappingNode {
				continue // "default": the image's own user
			}
			var user struct {
				Keys []string `yaml:"ssh_authorized_keys"`
			}
			if err := u.Decode(&user); err != nil {
				return keys, errors.New("its cloud-init has a user whose ssh_authorized_keys is not a list")
			}
			authorized = append(authorized, user.Keys...)
		}
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, k := range authorized {
		k = strings.TrimSpace(k)
		if k != "" && !seen[k] {
			seen[k] = true
			b.WriteString(k + "\n")
		}
	}
	keys.authorized = b.String()
	return keys, nil
}
