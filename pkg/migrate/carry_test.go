package migrate

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/app"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/migrate/remote/sshdtest"
	"github.com/cosocial/cosocial/pkg/objectstore"
)

// TestACutoverToADeploymentCarriesTheSourcesSecrets: at a target cosocial
// deployed, rewrite-env keeps the deployment's env file (the target's
// database and bucket), puts the source's secrets in it, and has the
// stack record them first; a source file holding none of them stops the
// window before anything is written.
func TestACutoverToADeploymentCarriesTheSourcesSecrets(t *testing.T) {
	clientKey, keyFile := sshdtest.ClientKey(t)
	sshd := sshdtest.Start(t, []string{"ed25519"}, clientKey)
	sh := dial(t, sshd, "root", sshd.KnownHosts(t, sshd.HostKeys...), keyFile)
	dir := t.TempDir()
	srcPath, tgtPath := filepath.Join(dir, "source.env"), filepath.Join(dir, "target.env")

	// The deployment's env file, as up wrote it at the target.
	spec := app.Spec{App: "mastodon", Name: "northwind", Version: "4.3.2", Domain: "northwind.example.ca", MediaHost: "media.northwind.example.ca",
		Database: app.Database{Engine: "postgresql", Host: "db-ovh.example", Port: 5432, Name: "mastodon", User: "mastodon", Password: "target pw'$x", SSLMode: "require"},
		Media:    &app.Bucket{Endpoint: "https://s3.bhs.io.cloud.ovh.net", Name: "northwind-media", AccessKey: "TARGETKEY1", SecretKey: "target-secret-key"}}
	made, files := deployment(t, spec)
	if err := os.WriteFile(tgtPath, files.Env, 0o600); err != nil {
		t.Fatal(err)
	}
	// The source's, a 4.2 install's: no Active Record keys yet.
	source := "# Mastodon's settings\nLOCAL_DOMAIN=northwind.example.ca\nDB_HOST=db-do.example\nDB_PORT=25060\nDB_PASS=source-secret-pw\n" +
		"SECRET_KEY_BASE=src0123456789abcdef\nOTP_SECRET=srcotp0123456789\nVAPID_PRIVATE_KEY=srcvapidpriv_-\nVAPID_PUBLIC_KEY=srcvapidpub_-\n" +
		"S3_ALIAS_HOST=media.northwind.example.ca\n"
	if err := os.WriteFile(srcPath, []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _ := app.Lookup("mastodon")
	names := a.SecretNames()
	var adopted map[string]string
	r := &Runner{Source: sh, Target: sh, App: App{EnvFile: srcPath, Stop: "true", Start: "true"},
		TargetApp: App{EnvFile: tgtPath, Stop: "true", Start: "true", Secrets: names},
		Adopt:     func(_ context.Context, m map[string]string) error { adopted = m; return nil },
		Connections: Connections{Databases: map[string][2]string{"main": {"postgresql://doadmin:source-secret-pw@db-do.example:25060/defaultdb", "postgresql://mastodon:x@db-ovh.example:5432/mastodon"}},
			Buckets: map[string][2]objects.Endpoint{"media": {{Bucket: objectstore.Bucket{Endpoint: "https://tor1.digitaloceanspaces.com", Name: "northwind-media-do"}}, {}}}},
	}
	rewrite := r.windowSteps()[0]
	if rewrite.Name != "rewrite-env" {
		t.Fatalf("the window starts with %s", rewrite.Name)
	}
	detail, err := rewrite.Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"SECRET_KEY_BASE": "src0123456789abcdef", "OTP_SECRET": "srcotp0123456789", "VAPID_PRIVATE_KEY": "srcvapidpriv_-", "VAPID_PUBLIC_KEY": "srcvapidpub_-"}
	if len(adopted) != len(want) {
		t.Fatalf("recorded in the stack: %d secrets, want %d", len(adopted), len(want))
	}
	out, _ := os.ReadFile(tgtPath)
	got, err := remote.ParseEnv(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if adopted[k] != v || got[k] != v {
			t.Errorf("%s: the source's value is not the one recorded and written", k)
		}
	}
	// The deployment's own: the target's database, and the keys the
	// source never had.
	if got["DB_HOST"] != "db-ovh.example" || got["ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"] != made["ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"] {
		t.Errorf("the deployment's settings were not kept: DB_HOST %q", got["DB_HOST"])
	}
	// Every other line as the deployment wrote it, quotes and all.
	for _, line := range strings.Split(string(files.Env), "\n") {
		k, _, _ := strings.Cut(line, "=")
		if _, carried := want[k]; !carried && !strings.Contains(string(out), line+"\n") {
			t.Errorf("line of %s changed", k)
		}
	}
	if st, _ := os.Stat(tgtPath); st.Mode().Perm() != 0o600 {
		t.Errorf("the target's env file is %v", st.Mode())
	}
	if strings.Contains(detail, "src0123") {
		t.Error("the step's detail shows a secret")
	}

	// A source under another name: the instance would change identity.
	adopted = nil
	if err := os.WriteFile(srcPath, []byte(strings.Replace(source, "LOCAL_DOMAIN=northwind.example.ca", "LOCAL_DOMAIN=social.northwind.example.ca", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rewrite.Do(context.Background()); err == nil || !strings.Contains(err.Error(), "LOCAL_DOMAIN is not the deployment's") || adopted != nil {
		t.Fatalf("a source under another domain: %v (recorded %v)", err, adopted != nil)
	}
	// A source file that is not the app's: nothing recorded, nothing written.
	adopted = nil
	if err := os.WriteFile(srcPath, []byte("LOCAL_DOMAIN=northwind.example.ca\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rewrite.Do(context.Background()); err == nil || !strings.Contains(err.Error(), "holds none of the app's secrets") || adopted != nil {
		t.Fatalf("a source without secrets: %v (recorded %v)", err, adopted != nil)
	}
	if again, _ := os.ReadFile(tgtPath); string(again) != string(out) {
		t.Error("the target's env file changed")
	}

	// An app set up by hand (--target-env-file): the source's file,
	// rewritten, goes where the target's is, not to the source's path.
	if err := os.WriteFile(srcPath, []byte(source), 0o600); err != nil {
		t.Fatal(err)
	}
	handPath := filepath.Join(dir, "by-hand.env")
	r.TargetApp = App{EnvFile: handPath, Stop: "true", Start: "true"}
	if _, err := r.windowSteps()[0].Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	hand, err := os.ReadFile(handPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := remote.ParseEnv(hand); got["DB_HOST"] != "db-ovh.example" || got["SECRET_KEY_BASE"] != "src0123456789abcdef" {
		t.Errorf("the hand-made target's env file is not the source's, rewritten")
	}
}

// TestACutoverStartsTheDeployedAppWithTheSourcesSecrets moves the running
// stand-in to a target whose env file cosocial deployed (the target's
// database and bucket, secrets of its own): after the cutover the app at
// the target writes to the target's database, with the source's
// SECRET_KEY_BASE, which the stack was told of before the env file
// changed.
func TestACutoverStartsTheDeployedAppWithTheSourcesSecrets(t *testing.T) {
	w := newWindow(t, windowOptions{seed: rehearse.Options{Statuses: 500, Objects: 20, Seed: 3}})
	ctx := context.Background()
	tURL, _ := url.Parse(w.targetDSN)
	tPort, _ := strconv.Atoi(tURL.Port())
	tPW, _ := tURL.User.Password()
	tb := w.conns.Buckets["media"][1].Bucket
	spec := app.Spec{App: "mastodon", Name: "northwind", Version: "4.3.2", Domain: "northwind.example.ca", MediaHost: "media.northwind.example.ca",
		Database: app.Database{Engine: "postgresql", Host: tURL.Hostname(), Port: tPort, Name: strings.TrimPrefix(tURL.Path, "/"), User: tURL.User.Username(), Password: tPW},
		Media:    &app.Bucket{Endpoint: tb.Endpoint, Name: tb.Name, AccessKey: tb.AccessKey, SecretKey: tb.SecretKey}}
	made, files := deployment(t, spec)
	// The stand-in listens on PORT; Mastodon's Puma on its default.
	srcEnv, err := w.src.ReadFile(ctx, ".env.production")
	if err != nil {
		t.Fatal(err)
	}
	port, _ := remote.ParseEnv(srcEnv)
	deployed := append(files.Env, "PORT="+port["PORT"]+"\n"...)
	if err := w.tgt.WriteFile(ctx, ".env.production", deployed, 0o600); err != nil {
		t.Fatal(err)
	}
	a, _ := app.Lookup("mastodon")
	names := a.SecretNames()
	var adopted map[string]string
	w.r.TargetApp = App{EnvFile: ".env.production", Start: w.app.Start, Stop: w.app.Stop, Secrets: names}
	w.r.Adopt = func(_ context.Context, m map[string]string) error {
		// Told before the env file changes.
		if env, _ := w.tgt.ReadFile(ctx, ".env.production"); string(env) != string(deployed) {
			t.Error("the env file changed before the stack was told")
		}
		adopted = m
		return nil
	}
	if err := w.r.Bulk(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.r.Cutover(ctx); err != nil {
		t.Fatal(err)
	}
	if got := instance(t, w.health); got["db_port"] != tURL.Port() || got["bucket"] != tb.Name {
		t.Fatalf("the app answering after the cutover is not the deployment's: %v", got)
	}
	srcMax := maxID(t, w.stock.Databases["main"])
	awaitTargetPost(t, w.targetDSN, srcMax)
	env, err := w.tgt.ReadFile(ctx, ".env.production")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := remote.ParseEnv(env)
	if got["SECRET_KEY_BASE"] != "kept-as-is" || adopted["SECRET_KEY_BASE"] != "kept-as-is" || len(adopted) != 1 {
		t.Errorf("SECRET_KEY_BASE at the target is not the source's, or the stack was told of %d secrets", len(adopted))
	}
	if got["OTP_SECRET"] != made["OTP_SECRET"] || got["DB_HOST"] != tURL.Hostname() {
		t.Error("the deployment's own settings were not kept")
	}
}

// deployment is what up writes for spec: the secrets it makes and the
// files, the env file among them.
func deployment(t *testing.T, spec app.Spec) (map[string]string, app.Files) {
	t.Helper()
	made, _, err := app.MakeSecrets(spec.App, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := app.Render(spec, made)
	if err != nil {
		t.Fatal(err)
	}
	return made, files
}
