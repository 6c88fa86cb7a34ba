package providerplugin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/cosocial/cosocial/templates"
)

// TestHostKeyInCloudInit gives the servers' own cloud-init a host key and
// checks the result with Debian's cloud-init: valid, its private key the
// public one's, and only an ed25519 key on the server.
func TestHostKeyInCloudInit(t *testing.T) {
	var base bytes.Buffer
	tmpl := template.Must(template.ParseFS(templates.FS, "cloud-init/server.yaml.tmpl"))
	if err := tmpl.Execute(&base, map[string]any{"Name": "server.web", "Coop": "CoSocial", "SSHKeys": []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIadmin admin"}}); err != nil {
		t.Fatal(err)
	}
	keys, err := withServerKeys(base.String())
	if err != nil {
		t.Fatal(err)
	}
	ud, public := keys.userData, keys.hostKey
	var doc struct {
		GenKeyTypes []string          `yaml:"ssh_genkeytypes"`
		Keys        map[string]string `yaml:"ssh_keys"`
		Users       []any             `yaml:"users"`
		Packages    []string          `yaml:"packages"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
		t.Fatalf("%v\n%s", err, ud)
	}
	signer, err := ssh.ParsePrivateKey([]byte(doc.Keys["ed25519_private"]))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); got != public || doc.Keys["ed25519_public"] != public {
		t.Errorf("the private key's public half %q is not the pinned %q", got, public)
	}
	if strings.Join(doc.GenKeyTypes, ",") != "ed25519" || len(doc.Keys) != 2 {
		t.Errorf("the server would offer other host keys: %+v", doc.GenKeyTypes)
	}
	// The description's cloud-init is all there, and the login key's
	// public half is the cosocial user's, beside the volunteers' keys.
	var orig struct {
		Packages []string `yaml:"packages"`
		Users    []any    `yaml:"users"`
	}
	yaml.Unmarshal(base.Bytes(), &orig)
	login, err := ssh.ParsePrivateKey([]byte(keys.loginKey))
	if err != nil {
		t.Fatal(err)
	}
	loginPub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(login.PublicKey())))
	if strings.Join(doc.Packages, " ") != strings.Join(orig.Packages, " ") || len(doc.Users) != len(orig.Users) {
		t.Errorf("the description's cloud-init changed:\n%s", ud)
	}
	var users struct {
		Users []struct {
			Name string   `yaml:"name"`
			Keys []string `yaml:"ssh_authorized_keys"`
		} `yaml:"users"`
	}
	yaml.Unmarshal([]byte(ud), &users)
	var cosocial []string
	for _, u := range users.Users {
		if u.Name == LoginUser {
			cosocial = u.Keys
		}
	}
	if len(cosocial) != 2 || !strings.HasPrefix(cosocial[1], loginPub) || !strings.Contains(cosocial[0], "admin") {
		t.Errorf("the cosocial user's keys are %q, want the volunteer's and %s", cosocial, loginPub)
	}
	if strings.Contains(ud, "PRIVATE KEY-----\n"+strings.Split(keys.loginKey, "\n")[1]) {
		t.Error("the login key's private half is in the cloud-init")
	}
	// Two servers, two keys.
	if other, _ := withServerKeys(base.String()); other.hostKey == public || other.loginKey == keys.loginKey {
		t.Error("the same key twice")
	}
	if _, err := withServerKeys(ud); err == nil || !strings.Contains(err.Error(), "ssh_") {
		t.Errorf("a cloud-init that already sets host keys: %v", err)
	}

	ci, err := exec.LookPath("cloud-init")
	if err != nil {
		t.Skipf("SKIP: cloud-init is not installed (make test-deps installs Debian's): %v", err)
	}
	f := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(f, []byte(ud), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ci, "schema", "--config-file", f).CombinedOutput(); err != nil {
		t.Fatalf("cloud-init schema: %v\n%s\n%s", err, out, ud)
	}
}
