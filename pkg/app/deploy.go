package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/migrate/remote"
)

// Shell runs commands and moves files on the service's server: an SSH
// client that checked the server's host key (remote.Client).
type Shell interface {
	Run(ctx context.Context, cmd string) (stdout, stderr string, err error)
	ReadFile(ctx context.Context, path string) ([]byte, error)
	WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error
}

// Deployment is one service put on its server.
type Deployment struct {
	Spec  Spec
	Files Files
	// Dir is the service's folder on the server; empty means
	// /opt/cosocial/<project>.
	Dir string
	// Compose is the Compose command on the server, with its environment
	// before it; empty means "docker-compose", the Compose that Debian's
	// docker.io comes with and the servers' cloud-init installs (the
	// sandbox points the same at podman's Docker API).
	Compose string
	// Previous is the version running now; empty on the first deployment.
	Previous string
	// Stage writes the files and pulls the images, and starts nothing:
	// a service whose data a migration has not moved yet. Started now,
	// it would migrate an empty database and write into the one being
	// copied to, forking the service.
	Stage bool
	// Progress, when set, is told each step as it is done: a first
	// deployment pulls images for minutes.
	Progress func(step string)
	// HealthTimeout bounds the wait for the new version to answer; 0
	// means 5 minutes (Mastodon's first boot compiles nothing, but a
	// cold server pulls several images).
	HealthTimeout time.Duration
}

// Result says what a deployment did, step by step.
type Result struct {
	Steps []string
	// RolledBack: the new version failed and the previous one runs
	// again, its files restored; no migration was undone or run twice.
	RolledBack bool
}

func (d Deployment) dir() string {
	if d.Dir != "" {
		return d.Dir
	}
	return Dir(d.Spec)
}

// Dir is the service's folder on its server.
func Dir(s Spec) string { return "/opt/cosocial/" + s.Project() }

func (d Deployment) compose(args string) string {
	return composeIn(d.dir(), d.Spec, d.Compose, args)
}

// ComposeCommand is the shell command that runs Compose with args on the
// service's project in its folder; compose "" is docker-compose.
func ComposeCommand(s Spec, compose, args string) string {
	return composeIn(Dir(s), s, compose, args)
}

func composeIn(dir string, s Spec, compose, args string) string {
	if compose == "" {
		compose = "docker-compose"
	}
	return fmt.Sprintf("cd %s && %s -p %s -f compose.yaml %s", remote.ShellQuote(dir), compose, remote.ShellQuote(s.Project()), args)
}

// Running says which release of the service its server runs: the one
// the app reports where it reports one, else the one its compose file
// names; "" when the service has no folder there. dir is the service's
// folder, "" for Dir(s).
func Running(ctx context.Context, sh Shell, s Spec, dir string) (string, error) {
	a, err := Lookup(s.App)
	if err != nil {
		return "", err
	}
	if dir == "" {
		dir = Dir(s)
	}
	compose, err := sh.ReadFile(ctx, path.Join(dir, "compose.yaml"))
	if err != nil {
		if out, _, err2 := sh.Run(ctx, "test -e "+remote.ShellQuote(dir)+" || echo gone"); err2 == nil && strings.TrimSpace(out) == "gone" {
			return "", nil
		}
		return "", err
	}
	if a.VersionPath != "" {
		out, _, err := sh.Run(ctx, appGet(a, s, a.VersionPath, false))
		if err != nil {
			return "", fmt.Errorf("%s does not answer on its server: %w", s.Project(), err)
		}
		v, err := reportedVersion(a.VersionPath, out)
		v, _, _ = strings.Cut(v, "+")
		return v, err
	}
	// The compose file's first line: "# Castopod 1.13.3 for …".
	first, _, _ := strings.Cut(string(compose), "\n")
	if f := strings.Fields(first); len(f) >= 3 && versionRE.MatchString(f[2]) {
		return f[2], nil
	}
	return "", fmt.Errorf("%s: the compose file on the server names no release", s.Project())
}

// Deploy writes the service's files and brings the version in Spec up,
// in the project's documented order: on the first deployment the install
// tasks, then the app; on an upgrade the pre-upgrade migrations, the new
// version, a health check, then the post-upgrade migrations. A failure
// before the post-upgrade migrations puts the previous version's files
// back and starts it again; the migrations already run stay (each
// project's pre-upgrade migrations are the ones the old code tolerates),
// and none runs twice.
func Deploy(ctx context.Context, sh Shell, d Deployment) (Result, error) {
	var res Result
	a, err := Lookup(d.Spec.App)
	if err != nil {
		return res, err
	}
	step := func(format string, args ...any) {
		res.Steps = append(res.Steps, fmt.Sprintf(format, args...))
		if d.Progress != nil {
			d.Progress(res.Steps[len(res.Steps)-1])
		}
	}
	run := func(cmd string) error {
		_, stderr, err := sh.Run(ctx, cmd)
		if err != nil {
			return fmt.Errorf("%w: %s", err, lastLines(stderr, 5))
		}
		return nil
	}
	dir := d.dir()
	upgrade := d.Previous != "" && d.Previous != d.Spec.Version
	if err := run("mkdir -p " + remote.ShellQuote(dir) + " && chmod 700 " + remote.ShellQuote(dir)); err != nil {
		return res, fmt.Errorf("making %s: %w", dir, err)
	}
	var quoted []string
	for _, f := range d.Files.written() {
		quoted = append(quoted, remote.ShellQuote(f.name))
	}
	names := strings.Join(quoted, " ")
	if d.Previous != "" {
		// The running version's files, for a rollback.
		if err := run(fmt.Sprintf("cd %s && for f in %s; do [ ! -f $f ] || cp -p $f $f.previous; done", remote.ShellQuote(dir), names)); err != nil {
			return res, fmt.Errorf("keeping the running version's files: %w", err)
		}
	}
	for _, f := range d.Files.written() {
		if sub := path.Dir(f.name); sub != "." {
			if err := run("mkdir -p " + remote.ShellQuote(path.Join(dir, sub))); err != nil {
				return res, fmt.Errorf("making %s: %w", sub, err)
			}
		}
		if err := sh.WriteFile(ctx, path.Join(dir, f.name), f.data, f.mode); err != nil {
			return res, fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	step("files written to %s (%s with mode 0600)", dir, d.Files.EnvName)
	if d.Stage {
		if err := run(d.compose("pull --quiet")); err != nil {
			return res, fmt.Errorf("pulling %s %s's images: %w", a.Name, d.Spec.Version, err)
		}
		step("images pulled; %s starts at the migration's cutover, on the data moved", a.Name)
		return res, nil
	}

	rollback := func(cause error) (Result, error) {
		if d.Previous == "" {
			return res, cause
		}
		restore := fmt.Sprintf("cd %s && for f in %s; do [ ! -f $f.previous ] || mv $f.previous $f; done", remote.ShellQuote(dir), names)
		if err := run(restore + " && " + d.compose("up -d --remove-orphans")); err != nil {
			return res, fmt.Errorf("%w; putting %s back failed too: %v", cause, d.Previous, err)
		}
		res.RolledBack = true
		step("%s runs again", d.Previous)
		if err := waitHealthy(ctx, sh, a, d.Spec, d.Previous, d.HealthTimeout); err != nil {
			return res, fmt.Errorf("%w; %s was put back but does not answer: %v", cause, d.Previous, err)
		}
		return res, fmt.Errorf("%w; %s was put back and answers", cause, d.Previous)
	}

	tasks := a.Install
	if upgrade {
		tasks = a.PreUpgrade
	} else if d.Previous != "" {
		tasks = nil // the same version again: settings only
	}
	for _, t := range tasks {
		if err := run(d.compose(t.runArgs())); err != nil {
			return rollback(fmt.Errorf("%s %s: %s: %w", a.Name, d.Spec.Version, t.Command, err))
		}
		step("%s", t)
	}
	if err := run(d.compose("up -d --remove-orphans")); err != nil {
		return rollback(fmt.Errorf("starting %s %s: %w", a.Name, d.Spec.Version, err))
	}
	step("%s %s started", a.Name, d.Spec.Version)
	if err := waitHealthy(ctx, sh, a, d.Spec, d.Spec.Version, d.HealthTimeout); err != nil {
		return rollback(fmt.Errorf("%s %s does not answer: %w", a.Name, d.Spec.Version, err))
	}
	if a.VersionPath != "" {
		step("%s answers and %s reports %s", a.HealthPath, a.VersionPath, d.Spec.Version)
	} else {
		step("%s answers", a.HealthPath)
	}
	through, err := proxyAnswers(ctx, sh, a, d)
	if err != nil {
		return rollback(fmt.Errorf("%s %s answers, but not through Caddy: %w", a.Name, d.Spec.Version, err))
	}
	step("%s", through)
	if upgrade {
		for _, t := range a.PostUpgrade {
			// Past this point the old code may no longer fit the
			// database: no rollback, the error says what to run.
			if err := run(d.compose(t.runArgs())); err != nil {
				return res, fmt.Errorf("%s %s runs, but %s failed: %w (run it again once fixed: %s)", a.Name, d.Spec.Version, t.Command, err, d.compose(t.runArgs()))
			}
			step("%s", t)
		}
	}
	run(fmt.Sprintf("cd %s && rm -f *.previous", remote.ShellQuote(dir)))
	return res, nil
}

// ServerAddress asks the server where its private services listen when
// it shares its host with other servers (the sandbox sets COSOCIAL_LISTEN
// in its sessions); "" on a server of its own. It goes in Spec.Address.
func ServerAddress(ctx context.Context, sh Shell) (string, error) {
	out, _, err := sh.Run(ctx, `printf %s "$COSOCIAL_LISTEN"`)
	if err != nil {
		return "", err
	}
	addr := strings.TrimSpace(out)
	if addr != "" && net.ParseIP(addr) == nil {
		return "", fmt.Errorf("the server's COSOCIAL_LISTEN is %q, not an IP address", addr)
	}
	return addr, nil
}

func (t Task) runArgs() string {
	// --no-deps: the task needs the database, not the app's other
	// services (and podman's Docker API refuses the links Compose v1
	// would make to them).
	args := "run --rm --no-deps"
	for _, e := range t.Env {
		args += " -e " + remote.ShellQuote(e)
	}
	return args + " " + t.Service + " " + t.Command
}

func (t Task) String() string {
	s := t.Command
	if len(t.Env) > 0 {
		s = strings.Join(t.Env, " ") + " " + s
	}
	return s
}

// waitHealthy asks the app itself, on the server's loopback, until its
// health page answers and, where it reports one, the version is right.
func waitHealthy(ctx context.Context, sh Shell, a *App, s Spec, version string, limit time.Duration) error {
	if limit == 0 {
		limit = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	check := appGet(a, s, a.HealthPath, true)
	if a.VersionPath != "" {
		check += " && " + appGet(a, s, a.VersionPath, false)
	}
	return poll(ctx, "after "+limit.String(), func() error {
		out, stderr, err := sh.Run(ctx, check)
		switch {
		case err != nil:
			return fmt.Errorf("%v: %s", err, lastLines(stderr, 2))
		case a.VersionPath != "":
			return instanceVersion(a.VersionPath, out, version)
		}
		return nil
	})
}

// poll asks until ask says yes (nil) or ctx ends, once a second: the
// server's own answer decides, the deadline only bounds the wait.
func poll(ctx context.Context, after string, ask func() error) error {
	for {
		last := ask()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", after, last)
		case <-time.After(time.Second):
		}
	}
}

// proxyAnswers asks Caddy, on the server, for the app's health page at
// the service's domain: what members reach. With certificates of Caddy's
// own CA (the sandbox) over TLS, checked against that CA; with Let's
// Encrypt, whose certificate needs DNS already pointing at the server, on
// port 80, where Caddy answers for the domain (a redirect to HTTPS once
// it has the certificate).
func proxyAnswers(ctx context.Context, sh Shell, a *App, d Deployment) (string, error) {
	s := d.Spec
	limit := d.HealthTimeout
	if limit == 0 {
		limit = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	url := "https://" + s.Domain + a.HealthPath
	check := fmt.Sprintf("curl -fsS -o /dev/null --cacert %s --resolve %s %s",
		remote.ShellQuote(path.Join(d.dir(), "caddy/data/caddy/pki/authorities/local/root.crt")),
		remote.ShellQuote(s.Domain+":443:"+s.listen()), remote.ShellQuote(url))
	if !s.InternalTLS {
		url = "http://" + s.Domain + a.HealthPath
		check = fmt.Sprintf("curl -sS -o /dev/null -w '%%{http_code}' -H %s http://%s%s",
			remote.ShellQuote("Host: "+s.Domain), s.listen(), a.HealthPath)
	}
	err := poll(ctx, fmt.Sprintf("%s after %s", url, limit), func() error {
		out, stderr, err := sh.Run(ctx, check)
		switch {
		case err != nil:
			return fmt.Errorf("%v: %s", err, lastLines(stderr, 2))
		case !s.InternalTLS && (out == "000" || out == ""):
			return fmt.Errorf("no HTTP answer (%q)", out)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "Caddy answers " + url, nil
}

// appGet is the command that asks the app itself, on the server's
// private address, for path at the service's domain; quiet drops the
// body.
func appGet(a *App, s Spec, path string, quiet bool) string {
	out := ""
	if quiet {
		out = "-o /dev/null "
	}
	return fmt.Sprintf("curl -fsS %s-H %s http://%s%s", out, remote.ShellQuote("Host: "+s.Domain), net.JoinHostPort(s.listen(), strconv.Itoa(a.AppPort)), path)
}

// reportedVersion reads the "version" of the JSON the app answered at
// where.
// reportedVersion reads the release from Mastodon's /api/v1/instance
// ("version") or a NodeInfo document ("software": {"version"}), which
// Pixelfed's own instance API words as a Mastodon compatibility string.
func reportedVersion(where, body string) (string, error) {
	var inst struct {
		Version  string
		Software struct{ Version string }
	}
	if err := json.Unmarshal([]byte(body), &inst); err != nil {
		return "", fmt.Errorf("%s: %w", where, err)
	}
	// NodeInfo's own "version" is its schema's (2.0).
	if inst.Software.Version != "" {
		return inst.Software.Version, nil
	}
	return inst.Version, nil
}

func instanceVersion(where, body, want string) error {
	got, err := reportedVersion(where, body)
	if err != nil {
		return err
	}
	// Mastodon reports 4.3.2, or 4.3.2+glitch for a fork.
	if got != want && !strings.HasPrefix(got, want+"+") {
		return fmt.Errorf("%s reports version %q, not %s", where, got, want)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
