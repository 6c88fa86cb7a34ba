package app

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/cosocial/cosocial/pkg/model"
)

// A password with every character an env file or YAML could trip on.
const trickyPassword = `p@ss w0rd'"$HOME#;{x}` + "`%s"

func specFor(app string) Spec {
	s := Spec{App: app, Name: "cosocial", Version: "4.3.2", Domain: "cosocial.ca", MediaHost: "media.cosocial.ca",
		Database: Database{Engine: "postgresql", Host: "postgresql-abc.database.cloud.ovh.net", Port: 20184, Name: "mastodon", User: "mastodon",
			Password: trickyPassword, SSLMode: "require"},
		Media: &Bucket{Endpoint: "https://s3.bhs.io.cloud.ovh.net", Name: "cosocial-media", AccessKey: "AKIAEXAMPLE", SecretKey: "s3cr3t/key+with=chars"},
		SMTP:  &SMTP{Host: "smtp.example.ca", Port: 587, User: "notifications", Password: "mail pass'word", From: "notifications@cosocial.ca"},
	}
	if app == "pixelfed" {
		s.Name, s.Version, s.Domain, s.MediaHost = "photos", "0.12.4", "photos.cosocial.ca", "pixmedia.cosocial.ca"
	}
	if app == "castopod" {
		s.Name, s.Version, s.Domain, s.MediaHost = "podcasts", "1.13.2", "podcasts.cosocial.ca", ""
		s.Database = Database{Engine: "mysql", Host: "mysql-abc.database.cloud.ovh.net", Port: 20184, Name: "castopod", User: "castopod", Password: `p@ss w0rd'$HOME#;{x}`}
	}
	return s
}

// TestRenderedFilesPassTheProjectsTools renders every registered app and
// checks each file with the tool that will read it: Compose's own loader
// (compose-go) for the compose and env files, with every setting read
// back exactly as written, and `caddy validate` for the proxy's config.
func TestRenderedFilesPassTheProjectsTools(t *testing.T) {
	if len(Names()) < 3 {
		t.Fatalf("apps registered: %v", Names())
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			if len(model.AppEngines[name]) == 0 {
				t.Fatalf("%s is no application of the language", name)
			}
			s := specFor(name)
			secrets, added, err := MakeSecrets(name, nil)
			if err != nil || len(added) == 0 {
				t.Fatalf("MakeSecrets: %v, %v", added, err)
			}
			f, err := Render(s, secrets)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for file, body := range map[string][]byte{"compose.yaml": f.Compose, f.EnvName: f.Env, "Caddyfile": f.Caddyfile} {
				if err := os.WriteFile(filepath.Join(dir, file), body, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, cli.WithWorkingDirectory(dir), cli.WithName(s.Project()))
			if err != nil {
				t.Fatal(err)
			}
			project, err := opts.LoadProject(context.Background())
			if err != nil {
				t.Fatalf("compose-go refuses the compose file: %v\n%s", err, f.Compose)
			}
			a, _ := Lookup(name)
			settings := a.Env(s, secrets)
			var appServices int
			for _, svc := range project.Services {
				if svc.NetworkMode != "host" {
					t.Errorf("service %s is not on the host's network (podman with runc here needs it)", svc.Name)
				}
				if !strings.HasSuffix(svc.Image, ":v"+s.Version) && !strings.HasSuffix(svc.Image, ":"+s.Version) && !strings.Contains(svc.Image, ":v"+s.Version+"-") {
					continue
				}
				appServices++
				// What the container will see is what was meant, quotes,
				// dollars and all.
				for _, kv := range settings {
					if got := svc.Environment[kv.Key]; got == nil || *got != kv.Value {
						t.Errorf("service %s: %s arrives as %v", svc.Name, kv.Key, got)
					}
				}
			}
			if appServices == 0 {
				t.Errorf("no service runs %s %s: %v", name, s.Version, project.ServiceNames())
			}
			// The env file parses on its own too (Compose's dotenv).
			parsed, err := dotenv.Parse(bytes.NewReader(f.Env))
			if err != nil || parsed[settings[0].Key] != settings[0].Value {
				t.Errorf("dotenv: %v, %v", parsed[settings[0].Key], err)
			}
			// Secrets live in the env file only.
			for _, v := range append(slices.Collect(mapValues(secrets)), s.Database.Password, s.Media.SecretKey, s.SMTP.Password) {
				if bytes.Contains(f.Compose, []byte(v)) || bytes.Contains(f.Caddyfile, []byte(v)) {
					t.Errorf("a secret is in the compose file or Caddy's config")
				}
			}
			caddyValidate(t, dir)
		})
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func caddyValidate(t *testing.T, dir string) {
	t.Helper()
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Skipf("SKIP: caddy is not installed (make test-deps installs Debian's): %v", err)
	}
	cmd := exec.Command(caddy, "validate", "--adapter", "caddyfile", "--config", filepath.Join(dir, "Caddyfile"))
	// Caddy keeps its state under the home folder: a test's own.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	if out, err := cmd.CombinedOutput(); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "Caddyfile"))
		t.Fatalf("caddy validate: %v\n%s\n%s", err, out, b)
	}
}

func TestTheMediaHostIsProxiedToTheBucket(t *testing.T) {
	s := specFor("mastodon")
	secrets, _, _ := MakeSecrets("mastodon", nil)
	f, err := Render(s, secrets)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"media.cosocial.ca {", "rewrite * /cosocial-media{uri}", "reverse_proxy https://s3.bhs.io.cloud.ovh.net", "handle /api/v1/streaming* {", "reverse_proxy 127.0.0.1:4000", "reverse_proxy 127.0.0.1:3000"} {
		if !bytes.Contains(f.Caddyfile, []byte(want)) {
			t.Errorf("the Caddyfile lacks %q:\n%s", want, f.Caddyfile)
		}
	}
	if bytes.Contains(f.Caddyfile, []byte("local_certs")) {
		t.Error("a real deployment's certificates come from Let's Encrypt, not Caddy's own CA")
	}
	s.InternalTLS = true
	if f, _ = Render(s, secrets); !bytes.Contains(f.Caddyfile, []byte("local_certs")) {
		t.Error("the sandbox's certificates should come from Caddy's own CA")
	}
	// Without a media host, no second site.
	s.MediaHost = ""
	if f, _ = Render(s, secrets); bytes.Contains(f.Caddyfile, []byte("cosocial-media")) {
		t.Errorf("a media site without a media host:\n%s", f.Caddyfile)
	}
}

// TestSecretsAreMadeOnceAndKept: the second deployment keeps every
// secret the first made; the keys are of the kinds the apps read.
func TestSecretsAreMadeOnceAndKept(t *testing.T) {
	first, added, err := MakeSecrets("mastodon", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
		"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"}
	if !slices.Equal(added, want) {
		t.Fatalf("made %v, want %v", added, want)
	}
	again, added, err := MakeSecrets("mastodon", first)
	if err != nil || len(added) != 0 {
		t.Fatalf("a second call made %v (%v)", added, err)
	}
	for k, v := range first {
		if again[k] != v {
			t.Errorf("%s changed", k)
		}
	}
	if len(first["SECRET_KEY_BASE"]) != 128 || first["SECRET_KEY_BASE"] == first["OTP_SECRET"] {
		t.Errorf("SECRET_KEY_BASE is not 64 random bytes in hex")
	}
	for _, k := range want[4:] {
		if len(first[k]) != 32 || strings.Trim(first[k], alphanumerics) != "" {
			t.Errorf("%s = %d characters, want 32 letters and digits", k, len(first[k]))
		}
	}
	// The VAPID public key is the private key's.
	priv, err := base64.URLEncoding.DecodeString(first["VAPID_PRIVATE_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.P256().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if pub := base64.URLEncoding.EncodeToString(k.PublicKey().Bytes()); pub != first["VAPID_PUBLIC_KEY"] {
		t.Errorf("the VAPID public key is not the private key's")
	}
	// Half a pair is not made whole with a new half.
	half := map[string]string{"VAPID_PRIVATE_KEY": first["VAPID_PRIVATE_KEY"]}
	if _, _, err := MakeSecrets("mastodon", half); err == nil || !strings.Contains(err.Error(), "VAPID_PRIVATE_KEY") {
		t.Errorf("half a VAPID pair: %v", err)
	}
	if _, err := Render(specFor("mastodon"), map[string]string{"SECRET_KEY_BASE": "x"}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("rendering without the secrets: %v", err)
	}
}

// TestBadInputIsRefusedBeforeAnythingIsWritten: what goes into YAML or
// Caddy's config is checked, and an error names the setting, never a
// secret's value.
func TestBadInputIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	secrets, _, _ := MakeSecrets("mastodon", nil)
	for _, tc := range []struct {
		change func(*Spec)
		want   string
	}{
		{func(s *Spec) { s.Version = "4.3.2\n    privileged: true" }, "version"},
		{func(s *Spec) { s.Domain = "cosocial.ca {\n}" }, "domain"},
		{func(s *Spec) { s.MediaHost = "media host" }, "media_host"},
		{func(s *Spec) { s.Database.Engine = "mysql" }, "runs on postgresql"},
		{func(s *Spec) { s.Media.Endpoint = "https://s3.example/path" }, "media endpoint"},
		{func(s *Spec) { s.Media.Name = "Bad_Bucket" }, "bucket"},
		{func(s *Spec) { s.Database.Password = "two\nlines" }, "DB_PASS"},
		{func(s *Spec) { s.App = "pleroma" }, "no app named"},
	} {
		s := specFor("mastodon")
		m := *s.Media
		s.Media = &m
		tc.change(&s)
		_, err := Render(s, secrets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", s, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "two\nlines") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	c := specFor("castopod")
	c.Database.Password = `with "quotes"`
	csecrets, _, _ := MakeSecrets("castopod", nil)
	if _, err := Render(c, csecrets); err == nil || !strings.Contains(err.Error(), "double quote") {
		t.Errorf("a Castopod password its image cannot carry: %v", err)
	}
}

// TestTheMediaRegionIsTheEndpoints: OVHcloud's S3 refuses a signature for
// another region than its host's, and the region is nowhere else in the
// description.
func TestTheMediaRegionIsTheEndpoints(t *testing.T) {
	for app, key := range map[string]string{"mastodon": "S3_REGION", "castopod": "CP_MEDIA_S3_REGION", "pixelfed": "AWS_DEFAULT_REGION"} {
		for endpoint, want := range map[string]string{
			"https://s3.bhs.io.cloud.ovh.net": "bhs", "https://tor1.digitaloceanspaces.com": "tor1", "http://127.0.0.1:7070": "us-east-1",
		} {
			s := specFor(app)
			s.Media.Endpoint = endpoint
			a, _ := Lookup(app)
			var got string
			for _, kv := range a.Env(s, map[string]string{}) {
				if kv.Key == key {
					got = kv.Value
				}
			}
			if got != want {
				t.Errorf("%s at %s: %s=%q, want %q", app, endpoint, key, got, want)
			}
		}
	}
}
