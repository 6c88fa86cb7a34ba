package app

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/migrate/remote/sshdtest"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// containersConf is what podman needs on these machines (DESIGN.md):
// runc, not crun, no default ulimits, cgroupfs.
const containersConf = "[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n"

// appServer is this machine playing a service's server: a real sshd for
// the tool to reach it, and podman's Docker API for Compose, with
// stand-in images under the official names (the registries are out of
// reach): the stand-in program for the apps and Redis, and Debian's own
// Caddy, which really terminates TLS.
type appServer struct {
	sh      *remote.Client
	compose string
	dir     string
	// address is the server's own on the loopback, as the sandbox gives
	// its machines: everything listens there, Caddy's 443 included, so
	// this test and a sandbox's machines share the host.
	address string
}

// standIn is an image the stand-in program plays: its name, the
// version it reports and where it logs the tasks it runs.
type standIn struct{ image, version, log string }

func mastodonImages(versions ...string) []standIn {
	var out []standIn
	for _, v := range versions {
		for _, name := range []string{"ghcr.io/mastodon/mastodon:v" + v, "ghcr.io/mastodon/mastodon-streaming:v" + v} {
			out = append(out, standIn{name, v, "/mastodon/public/system/standin.log"})
		}
	}
	return out
}

func newAppServer(t *testing.T, images ...standIn) *appServer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: containers run as root here (podman with runc)")
	}
	for _, tool := range []string{"podman", "docker-compose", "caddy", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s is not installed (make test-deps installs it): %v", tool, err)
		}
	}
	tmp := t.TempDir()
	conf := filepath.Join(tmp, "containers.conf")
	if err := os.WriteFile(conf, []byte(containersConf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", conf)
	buildStandIns(t, tmp, images)

	// podman's Docker API on a socket made here and handed over as
	// systemd's socket activation does: it listens before podman starts,
	// so Compose's first call waits in its backlog, not on a timer.
	sock := filepath.Join(tmp, "podman.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	svc := exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec podman system service --time=0`)
	svc.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	svc.ExtraFiles = []*os.File{lf}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	t.Cleanup(func() { svc.Process.Kill(); svc.Wait(); l.Close() })

	clientKey, keyFile := sshdtest.ClientKey(t)
	sshd := sshdtest.Start(t, []string{"ed25519"}, clientKey)
	sh, err := remote.Dial(context.Background(), remote.Target{Host: sshd.Host, Port: sshd.Port, User: "root",
		KnownHosts: sshd.KnownHosts(t, sshd.HostKeys...), KeyFile: keyFile, AgentSocket: "none"})
	if err != nil {
		t.Fatalf("%v\n%s", err, sshd.Log())
	}
	t.Cleanup(func() { sh.Close() })
	s := &appServer{sh: sh, compose: fmt.Sprintf("CONTAINERS_CONF=%s DOCKER_HOST=unix://%s docker-compose", conf, sock), dir: filepath.Join(tmp, "srv"),
		address: fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254), 2+rand.IntN(250))}
	return s
}

// buildStandIns makes the images, with Redis's and Caddy's.
func buildStandIns(t *testing.T, tmp string, images []standIn) {
	t.Helper()
	ctx := filepath.Join(tmp, "standin")
	os.MkdirAll(ctx, 0o755)
	if _, err := sandboxtest.BuildStandIn(ctx); err != nil {
		t.Fatal(err)
	}
	image := func(name, dir, containerfile string) {
		if err := os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("podman", "build", "-q", "-t", name, dir).CombinedOutput(); err != nil {
			t.Fatalf("podman build %s: %v\n%s", name, err, out)
		}
		t.Cleanup(func() { exec.Command("podman", "rmi", "-f", name).Run() })
	}
	containerfile := func(version, log string) string {
		return fmt.Sprintf("FROM scratch\nCOPY cosocial-standin /standin\nENV STANDIN_VERSION=%s STANDIN_LOG=%s\nENTRYPOINT [\"/standin\"]\n", version, log)
	}
	for _, im := range append(images, standIn{"docker.io/library/redis:7-alpine", "7", "/data/standin.log"}) {
		image(im.image, ctx, containerfile(im.version, im.log))
	}

	// Caddy: Debian's binary and the libraries it links.
	cdir := filepath.Join(tmp, "caddy")
	out, err := exec.Command("ldd", "/usr/bin/caddy").Output()
	if err != nil {
		t.Fatal(err)
	}
	var cf strings.Builder
	cf.WriteString("FROM scratch\n")
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if strings.HasPrefix(f, "/") {
				copyFile(t, f, filepath.Join(cdir, "root", f))
			}
		}
	}
	copyFile(t, "/usr/bin/caddy", filepath.Join(cdir, "root/usr/bin/caddy"))
	cf.WriteString("COPY root/ /\nENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data\nENTRYPOINT [\"/usr/bin/caddy\"]\nCMD [\"run\", \"--config\", \"/etc/caddy/Caddyfile\", \"--adapter\", \"caddyfile\"]\n")
	image("docker.io/library/caddy:2", cdir, cf.String())
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// overTLS asks the service as a member's browser would: by name, over
// TLS through Caddy on port 443, trusting only the sandbox's CA.
func overTLS(t *testing.T, s *appServer, domain, path string) (string, error) {
	t.Helper()
	rootPEM := filepath.Join(s.dir, "caddy/data/caddy/pki/authorities/local/root.crt")
	waitFor(t, time.Minute, "Caddy CA", func() bool { _, err := os.Stat(rootPEM); return err == nil })
	pem, _ := os.ReadFile(rootPEM)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", rootPEM)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: domain},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(s.address, "443"))
		},
	}}
	resp, err := c.Get("https://" + domain + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("%s: %s", path, resp.Status)
	}
	return string(b), nil
}

func versionOverTLS(t *testing.T, s *appServer, domain string) string {
	t.Helper()
	var body string
	var err error
	// Caddy gets its certificate from its CA a moment after it starts.
	waitFor(t, time.Minute, "answer over TLS", func() bool { body, err = overTLS(t, s, domain, "/api/v1/instance"); return err == nil })
	var inst struct{ Version string }
	if err := json.Unmarshal([]byte(body), &inst); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return inst.Version
}

// TestMastodonIsDeployedUpgradedAndRolledBack deploys Mastodon 4.3.2 to a
// server reached over SSH, upgrades it to 4.3.3 in the documented order,
// then tries 4.3.4, whose pre-deployment migrations fail: 4.3.3 must
// still answer, over TLS at the service's name, and no migration may run
// twice.
func TestMastodonIsDeployedUpgradedAndRolledBack(t *testing.T) {
	s := newAppServer(t, mastodonImages("4.3.2", "4.3.3", "4.3.4")...)
	ctx := context.Background()
	spec := specFor("mastodon")
	spec.Domain, spec.MediaHost, spec.InternalTLS, spec.Address = "cosocial.test", "", true, s.address
	secrets, _, err := MakeSecrets("mastodon", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Deployment{Spec: spec, Dir: s.dir, Compose: s.compose, HealthTimeout: time.Minute}
	t.Cleanup(func() { s.sh.Run(context.Background(), d.compose("down --remove-orphans")) })
	deploy := func(version, previous string) (Result, error) {
		t.Helper()
		d.Spec.Version, d.Previous = version, previous
		f, err := Render(d.Spec, secrets)
		if err != nil {
			t.Fatal(err)
		}
		d.Files = f
		res, err := Deploy(ctx, s.sh, d)
		t.Logf("deploy %s over %q: %q, %v", version, previous, res.Steps, err)
		return res, err
	}
	log := func() string {
		b, _ := os.ReadFile(filepath.Join(s.dir, "public/system/standin.log"))
		return string(b)
	}

	// Staged, as up leaves a service a migration moves: the files and
	// images are there, nothing runs, no task touched the database.
	d.Stage = true
	if res, err := deploy("4.3.2", ""); err != nil || len(res.Steps) != 2 {
		t.Fatalf("staged: %q, %v", res.Steps, err)
	}
	d.Stage = false
	if _, err := os.Stat(filepath.Join(s.dir, ".env.production")); err != nil {
		t.Fatalf("staged, the env file: %v", err)
	}
	if ps, _, err := s.sh.Run(ctx, d.compose("ps -q")); err != nil || strings.TrimSpace(ps) != "" || log() != "" {
		t.Fatalf("staged, yet running %q (%v), tasks run: %q", ps, err, log())
	}
	if _, err := deploy("4.3.2", ""); err != nil {
		t.Fatal(err)
	}
	if got := versionOverTLS(t, s, spec.Domain); got != "4.3.2" {
		t.Fatalf("over TLS: version %q", got)
	}
	if body, err := overTLS(t, s, spec.Domain, "/health"); err != nil || body != "OK" {
		t.Fatalf("/health through Caddy: %q, %v", body, err)
	}
	if st, err := os.Stat(filepath.Join(s.dir, ".env.production")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the env file: %v, %v", st.Mode(), err)
	}
	if want := "4.3.2 bundle exec rails db:prepare SKIP_POST_DEPLOYMENT_MIGRATIONS=\n"; log() != want {
		t.Fatalf("first deployment's tasks:\n%s\nwant\n%s", log(), want)
	}

	if _, err := deploy("4.3.3", "4.3.2"); err != nil {
		t.Fatal(err)
	}
	if got := versionOverTLS(t, s, spec.Domain); got != "4.3.3" {
		t.Fatalf("after the upgrade: version %q", got)
	}
	wantLog := "4.3.2 bundle exec rails db:prepare SKIP_POST_DEPLOYMENT_MIGRATIONS=\n" +
		"4.3.3 bundle exec rails db:migrate SKIP_POST_DEPLOYMENT_MIGRATIONS=true\n" +
		"4.3.3 bundle exec rails db:migrate SKIP_POST_DEPLOYMENT_MIGRATIONS=\n"
	if log() != wantLog {
		t.Fatalf("upgrade's migrations:\n%s\nwant\n%s", log(), wantLog)
	}

	// 4.3.4's pre-deployment migrations fail: 4.3.3 runs on.
	if err := os.WriteFile(filepath.Join(s.dir, "public/system/fail-bundle-exec-rails-db:migrate-4.3.4"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := deploy("4.3.4", "4.3.3")
	if err == nil || !res.RolledBack || !strings.Contains(err.Error(), "4.3.3 was put back and answers") {
		t.Fatalf("a failed upgrade: %+v, %v", res, err)
	}
	if got := versionOverTLS(t, s, spec.Domain); got != "4.3.3" {
		t.Fatalf("after the failed upgrade: version %q", got)
	}
	wantLog += "4.3.4 bundle exec rails db:migrate SKIP_POST_DEPLOYMENT_MIGRATIONS=true FAILED\n"
	if log() != wantLog {
		t.Fatalf("after the failed upgrade, the migrations run:\n%s\nwant\n%s", log(), wantLog)
	}
	compose, _ := os.ReadFile(filepath.Join(s.dir, "compose.yaml"))
	if !strings.Contains(string(compose), "mastodon:v4.3.3") || strings.Contains(string(compose), "4.3.4") {
		t.Fatalf("the compose file after the rollback:\n%s", compose)
	}
	// What refresh and drift ask: the release that answers on the server.
	if v, err := Running(ctx, s.sh, d.Spec, s.dir); err != nil || v != "4.3.3" {
		t.Fatalf("Running = %q, %v; want 4.3.3", v, err)
	}
	if v, err := Running(ctx, s.sh, d.Spec, filepath.Join(s.dir, "none")); err != nil || v != "" {
		t.Fatalf("Running without a folder = %q, %v; want nothing", v, err)
	}
}

// TestCastopodIsDeployedAndItsSettingsChange deploys Castopod, which
// migrates its database itself and reports no version, then deploys the
// same version with a new setting: the app is restarted with it and
// answers, over TLS at its name.
func TestCastopodIsDeployedAndItsSettingsChange(t *testing.T) {
	s := newAppServer(t, standIn{"docker.io/castopod/castopod:1.13.2", "1.13.2", "/var/www/castopod/public/media/standin.log"})
	ctx := context.Background()
	spec := specFor("castopod")
	spec.Domain, spec.InternalTLS, spec.Address = "podcasts.cosocial.test", true, s.address
	secrets, _, err := MakeSecrets("castopod", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Deployment{Spec: spec, Dir: s.dir, Compose: s.compose, HealthTimeout: time.Minute}
	t.Cleanup(func() { s.sh.Run(context.Background(), d.compose("down --remove-orphans")) })
	for i, bucket := range []string{"cosocial-podcasts", "cosocial-podcasts-2"} {
		d.Spec.Media.Name = bucket
		if i > 0 {
			d.Previous = spec.Version
		}
		if d.Files, err = Render(d.Spec, secrets); err != nil {
			t.Fatal(err)
		}
		res, err := Deploy(ctx, s.sh, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%q", res.Steps)
		var body string
		waitFor(t, time.Minute, "Castopod over TLS", func() bool { body, err = overTLS(t, s, spec.Domain, "/"); return err == nil })
		if body != "stand-in 1.13.2\n" {
			t.Fatalf("%q", body)
		}
		env, _ := os.ReadFile(filepath.Join(s.dir, ".env"))
		if !strings.Contains(string(env), "CP_MEDIA_S3_BUCKET='"+bucket+"'") {
			t.Fatalf("deployment %d: the env file lacks the bucket %s", i+1, bucket)
		}
	}
	// Castopod's image runs its own migrations: the tool ran no task.
	if b, err := os.ReadFile(filepath.Join(s.dir, "media/standin.log")); err == nil {
		t.Fatalf("tasks were run for Castopod: %s", b)
	}
}

// TestPixelfedIsDeployedAndUpgraded deploys Pixelfed with the image's
// Apache moved behind Caddy, its first-time tasks run by the tool (the
// image's own would make an APP_KEY of its own), then upgrades it with
// the migrations Pixelfed's docs order; the OAuth key, several lines of
// PEM, reaches the containers whole.
func TestPixelfedIsDeployedAndUpgraded(t *testing.T) {
	var images []standIn
	for _, v := range []string{"0.12.4", "0.12.5"} {
		images = append(images, standIn{"ghcr.io/jippi/docker-pixelfed:v" + v + "-apache-8.4-bookworm", v, "/var/www/storage/standin.log"})
	}
	s := newAppServer(t, images...)
	ctx := context.Background()
	spec := specFor("pixelfed")
	spec.Domain, spec.MediaHost, spec.InternalTLS, spec.Address = "photos.cosocial.test", "", true, s.address
	secrets, _, err := MakeSecrets("pixelfed", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Deployment{Spec: spec, Dir: s.dir, Compose: s.compose, HealthTimeout: time.Minute}
	t.Cleanup(func() { s.sh.Run(context.Background(), d.compose("down --remove-orphans")) })
	nodeinfo := func() string {
		t.Helper()
		var body string
		waitFor(t, time.Minute, "Pixelfed over TLS", func() bool {
			body, err = overTLS(t, s, spec.Domain, "/api/nodeinfo/2.0.json")
			return err == nil
		})
		v, err := reportedVersion("nodeinfo", body)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	log := func() string {
		b, _ := os.ReadFile(filepath.Join(s.dir, "storage/standin.log"))
		return string(b)
	}
	for _, step := range []struct{ version, previous, log string }{
		{"0.12.4", "", "0.12.4 gosu www-data php artisan migrate --force SKIP_POST_DEPLOYMENT_MIGRATIONS=\n" +
			"0.12.4 gosu www-data php artisan import:cities SKIP_POST_DEPLOYMENT_MIGRATIONS=\n" +
			"0.12.4 gosu www-data php artisan instance:actor SKIP_POST_DEPLOYMENT_MIGRATIONS=\n"},
		{"0.12.5", "0.12.4", "0.12.5 gosu www-data php artisan migrate --force SKIP_POST_DEPLOYMENT_MIGRATIONS=\n"},
	} {
		want := log() + step.log
		d.Spec.Version, d.Previous = step.version, step.previous
		if d.Files, err = Render(d.Spec, secrets); err != nil {
			t.Fatal(err)
		}
		res, err := Deploy(ctx, s.sh, d)
		t.Logf("deploy %s: %q", step.version, res.Steps)
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeinfo(); got != step.version {
			t.Fatalf("NodeInfo reports %q, want %s", got, step.version)
		}
		if body, err := overTLS(t, s, spec.Domain, "/api/service/health-check"); err != nil || body != "OK" {
			t.Fatalf("health check through Caddy: %q, %v", body, err)
		}
		if log() != want {
			t.Fatalf("tasks:\n%s\nwant\n%s", log(), want)
		}
	}
	ports, _ := os.ReadFile(filepath.Join(s.dir, "overrides/etc/apache2/ports.conf"))
	if !strings.Contains(string(ports), "Listen "+s.address+":8080\n") {
		t.Errorf("Apache's ports.conf:\n%s", ports)
	}
	body, err := overTLS(t, s, spec.Domain, "/standin/env/PASSPORT_PRIVATE_KEY")
	if want := fmt.Sprintf("%x", sha256.Sum256([]byte(secrets["PASSPORT_PRIVATE_KEY"]))); err != nil || body != want {
		t.Errorf("the OAuth key in the container: %q, %v; want the one written (%d lines)", body, err, strings.Count(secrets["PASSPORT_PRIVATE_KEY"], "\n"))
	}
	if v, err := Running(ctx, s.sh, d.Spec, s.dir); err != nil || v != "0.12.5" {
		t.Fatalf("Running = %q, %v; want 0.12.5", v, err)
	}
}
