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
	ud, public, err := withHostKey(base.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ud, base.String()[:len(base.String())-1]) {
		t.Errorf("the description's cloud-init changed:\n%s", ud)
	}
	var doc struct {
		GenKeyTypes []string          `yaml:"ssh_genkeytypes"`
		Keys        map[string]string `yaml:"ssh_keys"`
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
	// Two servers, two keys.
	if _, other, _ := withHostKey(base.String()); other == public {
		t.Error("the same host key twice")
	}
	if _, _, err := withHostKey(ud); err == nil || !strings.Contains(err.Error(), "ssh_") {
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
