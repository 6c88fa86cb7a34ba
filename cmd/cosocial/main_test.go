package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"

	"github.com/cosocial/cosocial/pkg/stack/stacktest"
)

var binary string

// TestMain builds the real binary once: these tests check what a volunteer
// sees at a shell, exit codes included.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cosocial-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cosocial")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	// Beside the binary, where the sandbox's machines look for it.
	if _, err := sandboxtest.BuildStandIn(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func cosocial(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cosocialEnv(t, dir, nil, args...)
}

const stacks = "../../stacks"

func TestExitCodes(t *testing.T) {
	tmp := t.TempDir()
	messy := filepath.Join(tmp, "messy.hcl")
	if err := os.WriteFile(messy, []byte("coop \"x\" {\nname = \"X\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string // in stdout or stderr
	}{
		{[]string{"validate", "-f", stacks + "/cosocial/cosocial-today.hcl"}, 1, "DigitalOcean Holdings, Inc. is based in the United States"},
		{[]string{"validate", "-f", stacks + "/cosocial/cosocial-target.hcl", "--as-of", "2026-11-22"}, 0, "until 2027-06-30"},
		{[]string{"validate", "-f", stacks + "/cosocial/cosocial-target.hcl", "--as-of", "2027-03-01"}, 1, `Waiver "dns" expired on 2027-01-31`},
		{[]string{"validate", "-f", stacks + "/starter/cosocial.hcl"}, 0, "Provider not Canadian-owned"},
		{[]string{"validate", "-f", stacks + "/cosocial", "--as-of", "2026-11-22"}, 0, "8 resources"},
		{[]string{"residency", "-f", stacks + "/cosocial/cosocial-today.hcl"}, 1, "not compliant"},
		{[]string{"residency", "-f", stacks + "/cosocial/cosocial-target.hcl", "--as-of", "2026-11-22", "--format", "json"}, 0, `"compliant": true`},
		{[]string{"fmt", "--check", "-f", messy}, 3, messy},
		{[]string{"fmt", "--check", "-f", stacks + "/cosocial"}, 0, ""},
		{[]string{"validate", "--nope"}, 1, "unknown flag: --nope"},
		{[]string{"residency", "--format", "pdf"}, 1, "Usage:"},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
		{[]string{"validate", "-f", filepath.Join(tmp, "absent.hcl")}, 1, "cosocial init"},
		{[]string{"version"}, 0, "cosocial "},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := cosocial(t, ".", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.want) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tc.want, out, errOut)
			}
		})
	}
}

func TestInitThenValidate(t *testing.T) {
	dir := t.TempDir()
	if out, errOut, code := cosocial(t, dir, "init", "--domain", "lakeside.example.ca"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := cosocial(t, dir, "validate"); code != 0 {
		t.Fatalf("validate of the starter: exit %d\n%s%s", code, out, errOut)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "cosocial.hcl"))
	_, errOut, code := cosocial(t, dir, "init", "--domain", "other.example.ca")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("second init: exit %d, %s", code, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "cosocial.hcl"))
	if !bytes.Equal(before, after) {
		t.Error("second init changed the description")
	}
}

func TestTypoPointsAtTheLine(t *testing.T) {
	dir := t.TempDir()
	src := "coop \"x\" {\n  name   = \"X\"\n  domian = \"x.example.ca\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "cosocial.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cosocial(t, dir, "validate")
	if code != 1 || !strings.Contains(errOut, "on cosocial.hcl line 3, column 3") || !strings.Contains(errOut, `Did you mean "domain"?`) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	// One message for one typo: no echo about the missing "domain".
	if strings.Contains(errOut, "Missing required argument") {
		t.Errorf("the typo is reported twice:\n%s", errOut)
	}
}

// TestSharedExamples runs the project's reference examples, in the
// repository's copies a clean clone has, exactly as DESIGN.md says they
// behave; where the checkout sits beside the shared examples, the copies
// must be them byte for byte.
func TestSharedExamples(t *testing.T) {
	copies := map[string]string{
		"cosocial-today.hcl":  filepath.Join(stacks, "cosocial", "cosocial-today.hcl"),
		"cosocial-target.hcl": filepath.Join(stacks, "cosocial", "cosocial-target.hcl"),
		"starter-ovh.hcl":     filepath.Join(stacks, "starter", "cosocial.hcl"),
	}
	for _, tc := range []struct {
		file string
		code int
		want string
	}{
		{"cosocial-today.hcl", 1, "server.web uses digitalocean.toronto (DigitalOcean), whose ultimate parent DigitalOcean Holdings, Inc. is based in the United States"},
		{"cosocial-target.hcl", 0, "dns                ownership  dns.cosocial                      until 2027-01-31"},
		{"starter-ovh.hcl", 0, "Warning: Provider not Canadian-owned"},
	} {
		out, errOut, code := cosocial(t, ".", "validate", "-f", copies[tc.file], "--as-of", "2026-11-22")
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s%s", tc.file, code, tc.code, tc.want, out, errOut)
		}
	}
	shared := "../../../shared/examples"
	if _, err := os.Stat(shared); err != nil {
		return // a clean clone elsewhere: the copies alone
	}
	for name, copy := range copies {
		want, err1 := os.ReadFile(filepath.Join(shared, name))
		got, err2 := os.ReadFile(copy)
		if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
			t.Errorf("%s differs from the shared example %s (%v, %v)", copy, name, err1, err2)
		}
	}
}

// standUpEnv is what the stand-up needs: the Pulumi engine (the test fails
// without it), PostgreSQL, and a sandbox folder of the test's own. The S3
// server is the binary's own gateway: $COSOCIAL_VERSITYGW is left out, so
// the sandbox runs as it does for a cosocial installed alone.
func standUpEnv(t *testing.T) []string {
	t.Helper()
	stacktest.Engine(t)
	if _, err := exec.LookPath("pg_config"); err != nil {
		t.Fatal("PostgreSQL is not installed: make test installs it")
	}
	sandboxHome, err := os.MkdirTemp("", "cosocial-sb-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sandboxHome, 0o711)
	t.Cleanup(func() { os.RemoveAll(sandboxHome) })
	return []string{"COSOCIAL_VERSITYGW=", "COSOCIAL_SANDBOX_HOME=" + sandboxHome, "COSOCIAL_PASSPHRASE=e2e-passphrase-do-not-print"}
}

func cosocialEnv(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// rehearsal is a folder of description files in which the binary is run
// against the sandbox, keeping all it printed for the secrets check.
type rehearsal struct {
	t          *testing.T
	dir        string
	env        []string
	transcript strings.Builder
}

// newRehearsal copies files (name in the folder → file to copy) into a
// folder of the test's, with a sandbox of its own.
func newRehearsal(t *testing.T, files map[string]string) *rehearsal {
	t.Helper()
	r := &rehearsal{t: t, dir: t.TempDir(), env: standUpEnv(t)}
	for name, from := range files {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// sandboxHome is where the rehearsal's sandbox keeps its data.
func (r *rehearsal) sandboxHome() string { return sandboxHomeOf(r.env) }

// sandboxHomeOf is the sandbox folder an environment from standUpEnv names.
func sandboxHomeOf(env []string) string {
	for _, kv := range env {
		if home, ok := strings.CutPrefix(kv, "COSOCIAL_SANDBOX_HOME="); ok {
			return home
		}
	}
	return ""
}

// run runs the binary and fails the test, with the sandbox's log, unless
// it exits with want.
func (r *rehearsal) run(want int, args ...string) (stdout, stderr string) {
	r.t.Helper()
	out, errOut, code := cosocialEnv(r.t, r.dir, r.env, args...)
	r.transcript.WriteString(out + errOut)
	if code != want {
		logs, _ := filepath.Glob(filepath.Join(r.sandboxHome(), "*", "sandbox.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			r.t.Logf("%s:\n%s", l, b)
		}
		r.t.Fatalf("cosocial %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// step is run with both streams together, for what a person reads.
func (r *rehearsal) step(want int, args ...string) string {
	r.t.Helper()
	out, errOut := r.run(want, args...)
	return out + errOut
}

// TestStandUpOnTheSandbox is the main job end to end: up on the starter,
// an empty plan, a disk change planned as an in-place update and applied,
// drift, and destroy with the data.
func TestStandUpOnTheSandbox(t *testing.T) {
	r := newRehearsal(t, map[string]string{"cosocial.hcl": stacks + "/starter/cosocial.hcl"})
	dir := r.dir
	src, err := os.ReadFile(stacks + "/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(dir, "cosocial.hcl")
	step := func(want int, args ...string) string {
		t.Helper()
		out, _ := r.run(want, args...)
		return out
	}
	transcript := &r.transcript
	out := step(0, "up", "--sandbox", "--yes")
	for _, want := range []string{"✓ server.web created", "✓ database.main created", "✓ bucket.media created", "server.web.ipv4", "server.web.hostKey",
		"database.main.passwords  (secret", "✓ service.mastodon.northwind created", "Caddy answers https://northwind.example.ca/health"} {
		if !strings.Contains(out+transcript.String(), want) {
			t.Errorf("up output lacks %q", want)
		}
	}
	// What a member reaches: Mastodon through Caddy, over TLS at the
	// service's name, with a certificate of the sandbox's CA.
	if v := r.instanceVersion("northwind.example.ca"); v != "4.3.2" {
		t.Fatalf("over TLS, /api/v1/instance reports %q, want 4.3.2", v)
	}
	step(0, "plan", "--sandbox", "--detailed-exitcode")

	// A new release is planned as an upgrade of the service and applied in
	// Mastodon's documented order.
	if err := os.WriteFile(desc, bytes.Replace(src, []byte(`version  = "4.3.2"`), []byte(`version  = "4.3.3"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out = step(2, "plan", "--sandbox", "--detailed-exitcode", "--json")
	var upgrade struct {
		Changes []struct {
			Address, Action string
			Properties      []struct{ Name, Before, After string }
		}
	}
	if err := json.Unmarshal([]byte(out), &upgrade); err != nil {
		t.Fatal(err)
	}
	if c := upgrade.Changes; len(c) != 1 || c[0].Address != "service.mastodon.northwind" || c[0].Action != "update" || len(c[0].Properties) != 1 ||
		c[0].Properties[0].Name != "version" || c[0].Properties[0].Before != `"4.3.2"` || c[0].Properties[0].After != `"4.3.3"` {
		t.Fatalf("the version bump's plan: %s", out)
	}
	step(0, "up", "--sandbox", "--yes")
	if v := r.instanceVersion("northwind.example.ca"); v != "4.3.3" {
		t.Fatalf("after the upgrade, /api/v1/instance reports %q", v)
	}
	wantTasks := "4.3.2 bundle exec rails db:prepare SKIP_POST_DEPLOYMENT_MIGRATIONS=\n" +
		"4.3.3 bundle exec rails db:migrate SKIP_POST_DEPLOYMENT_MIGRATIONS=true\n" +
		"4.3.3 bundle exec rails db:migrate SKIP_POST_DEPLOYMENT_MIGRATIONS=\n"
	if got := string(machineFile(t, r.sandboxHome(), "public/system/standin.log")); got != wantTasks {
		t.Fatalf("the migrations run:\n%s\nwant\n%s", got, wantTasks)
	}
	src = bytes.Replace(src, []byte(`version  = "4.3.2"`), []byte(`version  = "4.3.3"`), 1)

	// 4.3.4's pre-deployment migration fails: up fails, 4.3.3 is put back
	// and answers, and the state still says 4.3.3, so the next plan shows
	// the same upgrade again.
	logPath := machinePath(t, r.sandboxHome(), "public/system/standin.log")
	if err := os.WriteFile(filepath.Join(filepath.Dir(logPath), "fail-bundle-exec-rails-db:migrate-4.3.4"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(desc, bytes.Replace(src, []byte(`version  = "4.3.3"`), []byte(`version  = "4.3.4"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out = r.step(1, "up", "--sandbox", "--yes")
	if !strings.Contains(out, "4.3.3 was put back and answers") {
		t.Fatalf("the failed upgrade: %s", out)
	}
	if v := r.instanceVersion("northwind.example.ca"); v != "4.3.3" {
		t.Fatalf("after the failed upgrade, /api/v1/instance reports %q", v)
	}
	out = step(2, "plan", "--sandbox", "--detailed-exitcode")
	if !strings.Contains(out, `version: "4.3.3" → "4.3.4"`) {
		t.Fatalf("the plan after the failed upgrade: %s", out)
	}
	if err := os.WriteFile(desc, src, 0o644); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(desc, bytes.Replace(src, []byte("disk_gb  = 80"), []byte("disk_gb  = 120"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out = step(2, "plan", "--sandbox", "--detailed-exitcode", "--json")
	var plan struct {
		Changes []struct {
			Address    string
			Action     string
			Properties []struct {
				Name              string
				Before, After     string
				ForcesReplacement bool `json:"forces_replacement"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 || plan.Changes[0].Address != "database.main" || plan.Changes[0].Action != "update" ||
		plan.Changes[0].Properties[0].Name != "disk_gb" || plan.Changes[0].Properties[0].ForcesReplacement {
		t.Fatalf("disk change plan: %s", out)
	}
	out = step(0, "up", "--sandbox", "--yes")
	if !strings.Contains(out, "1 updated in place, 0 replaced") {
		t.Errorf("up after the disk change: %s", out)
	}
	step(0, "plan", "--sandbox", "--detailed-exitcode")
	step(0, "drift", "--sandbox")

	// The secrets the stack holds appear nowhere but in its encrypted state.
	secrets := append([]string{"e2e-passphrase-do-not-print"}, sandboxSecrets(t, r.sandboxHome())...)
	if len(secrets) < 2 {
		t.Fatal("found no S3 secret in the sandbox to look for")
	}
	// The app's own, made by the tool, and the login key it made for the
	// server: nowhere but on the server and in the encrypted state, and
	// never in what the provider keeps (its records of the server).
	appSecrets := envValues(t, machineFile(t, r.sandboxHome(), ".env.production"), "SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "DB_PASS")
	secrets = append(secrets, appSecrets...)
	checkNoSecrets(t, transcript.String(), filepath.Join(dir, ".cosocial"), secrets)
	for _, rec := range []string{"ovh.json", "ovh-requests.log", "sandbox.log"} {
		files, _ := filepath.Glob(filepath.Join(r.sandboxHome(), "*", rec))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, sec := range appSecrets {
				if bytes.Contains(b, []byte(sec)) {
					t.Errorf("an app secret is in the provider's %s", rec)
				}
			}
		}
	}

	step(1, "destroy", "--sandbox", "--include-data", "--confirm", "wrong.example.ca")
	step(0, "destroy", "--sandbox", "--include-data", "--confirm", "northwind.example.ca")
	out = step(0, "plan", "--sandbox", "--json")
	if !strings.Contains(out, `"create": 5`) {
		t.Errorf("after destroy, plan should create everything again: %s", out)
	}
}

// sandboxSecrets reads the S3 secret keys the sandbox's S3 server issued.
func sandboxSecrets(t *testing.T, home string) []string {
	t.Helper()
	var secrets []string
	filepath.WalkDir(home, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) != "users.json" {
			return nil
		}
		b, _ := os.ReadFile(path)
		var users struct {
			AccessAccounts map[string]struct {
				Secret string `json:"secret"`
			} `json:"accessAccounts"`
		}
		if json.Unmarshal(b, &users) == nil {
			for _, u := range users.AccessAccounts {
				secrets = append(secrets, u.Secret)
			}
		}
		return nil
	})
	return secrets
}

func checkNoSecrets(t *testing.T, transcript, stackDir string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(transcript, s) {
			t.Errorf("a secret appears in the commands' output")
		}
	}
	files := 0
	filepath.WalkDir(stackDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if d.Type()&os.ModeSymlink != 0 {
			return nil
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("a secret appears in clear in %s", path)
			}
		}
		return nil
	})
	if files == 0 {
		t.Errorf("no files under %s to check", stackDir)
	}
}

// TestViolationStopsBeforeAnyRequest stands a compliant-by-warning
// description up, then makes its policy an error: plan, up and destroy
// must stop before the sandbox's API sees a single request.
func TestViolationStopsBeforeAnyRequest(t *testing.T) {
	env := standUpEnv(t)
	dir := t.TempDir()
	src, _ := os.ReadFile(stacks + "/starter/cosocial.hcl")
	desc := filepath.Join(dir, "cosocial.hcl")
	os.WriteFile(desc, src, 0o644)
	if out, errOut, code := cosocialEnv(t, dir, env, "up", "--sandbox", "--yes"); code != 0 {
		t.Fatalf("up: %d\n%s%s", code, out, errOut)
	}
	home := sandboxHomeOf(env)
	logs, _ := filepath.Glob(filepath.Join(home, "*", "ovh-requests.log"))
	if len(logs) != 1 {
		t.Fatalf("request logs: %v", logs)
	}
	before, _ := os.ReadFile(logs[0])
	if len(before) == 0 {
		t.Fatal("up made no request: the log proves nothing")
	}
	os.WriteFile(desc, bytes.Replace(src, []byte(`on_violation = "warn"`), []byte(`on_violation = "error"`), 1), 0o644)
	for _, args := range [][]string{{"plan", "--sandbox"}, {"up", "--sandbox", "--yes"}, {"destroy", "--sandbox", "--yes"}, {"refresh", "--sandbox"}, {"drift", "--sandbox"}} {
		_, errOut, code := cosocialEnv(t, dir, env, args...)
		if code != 1 || !strings.Contains(errOut, "Stopped before contacting any provider") || !strings.Contains(errOut, "Provider not Canadian-owned") {
			t.Errorf("%v: exit %d\n%s", args, code, errOut)
		}
	}
	after, _ := os.ReadFile(logs[0])
	if !bytes.Equal(before, after) {
		t.Errorf("the sandbox received requests after the policy became an error:\n%s", after[len(before):])
	}
}

// TestStateInABucket keeps the state in a bucket of the description: the
// bucket is made outside the stack on first use, the stack folder holds no
// state, and destroy --include-data leaves the state bucket alone. Its
// service is Pixelfed, sending mail through a relay whose password only
// the environment holds: it reaches the server's env file and no output.
func TestStateInABucket(t *testing.T) {
	const relayPassword = "relay-pass-Lakeside-42"
	env := append(standUpEnv(t), "LAKESIDE_SMTP_PASSWORD="+relayPassword)
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/s3-state.hcl")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cosocial.hcl"), src, 0o644)
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := cosocialEnv(t, dir, env, args...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	out := run(0, "up", "--sandbox", "--yes")
	if !strings.Contains(out, "creating the state bucket lakeside-state (versioned, private)") {
		t.Errorf("up did not say it made the state bucket:\n%s", out)
	}
	if strings.Contains(out, "bucket.state") {
		t.Errorf("the state bucket is part of the stack:\n%s", out)
	}
	out += run(0, "plan", "--sandbox", "--detailed-exitcode")
	// up waited for Pixelfed's health check through Caddy; its env file
	// on the machine carries the relay.
	home := sandboxHomeOf(env)
	var envFile string
	filepath.WalkDir(home, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, "/opt/cosocial/cosocial-pixelfed-lakeside/.env") {
			envFile = path
		}
		return nil
	})
	st, err := os.Stat(envFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("Pixelfed's env file on the machine: %q %v", envFile, err)
	}
	if b, _ := os.ReadFile(envFile); !strings.Contains(string(b), "MAIL_PASSWORD='"+relayPassword+"'") || !strings.Contains(string(b), "MAIL_HOST='smtp.lakeside.example.ca'") {
		t.Errorf("the env file lacks the relay")
	}
	if strings.Contains(out, relayPassword) {
		t.Errorf("the relay's password is in the output")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, ".cosocial", "sandbox", "state")); len(entries) != 0 {
		t.Errorf("state was written to the stack folder: %v", entries)
	}
	run(0, "destroy", "--sandbox", "--include-data", "--confirm", "lakeside.example.ca")
	kept, _ := filepath.Glob(filepath.Join(home, "*", "s3", "data", "lakeside-state", ".pulumi", "stacks", "*", "production.json"))
	if len(kept) != 1 {
		t.Fatalf("the state bucket lost the state after destroy: %v", kept)
	}
	// The state after destroy records an empty stack: plan creates it all
	// again, the service and its secrets included.
	if out := run(0, "plan", "--sandbox", "--json"); !strings.Contains(out, `"create": 9`) {
		t.Errorf("plan after destroy: %s", out)
	}
}

// TestStackNameIsCheckedFirst: a --stack that could climb out of the
// state folder, or that the engine would choke on, is refused in the
// tool's words before any folder is made or file written.
func TestStackNameIsCheckedFirst(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "a", "b", "coop")
	victim := filepath.Join(top, "target", "victim")
	for _, d := range []string{dir, victim} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile(stacks + "/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cosocial.hcl"), src, 0o644)
	os.WriteFile(filepath.Join(victim, "Pulumi.yaml"), []byte("name: victim\n"), 0o644)
	for _, name := range []string{"../../../target/victim", "a/b", "a b", "prod;rm", "prödúction", ".hidden", ""} {
		for _, cmd := range []string{"plan", "up", "destroy", "drift"} {
			out, errOut, code := cosocial(t, dir, cmd, "--sandbox", "--stack", name)
			if code != 1 || !strings.Contains(errOut, "Error: --stack: the stack name") {
				t.Errorf("%s --stack %q: exit %d\n%s%s", cmd, name, code, out, errOut)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the description's folder gained files: %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(victim, "Pulumi.yaml")); string(b) != "name: victim\n" {
		t.Errorf("a file outside the state folder was overwritten: %q", b)
	}
}

// machineFile reads a file of the sandbox's machines, found by the end
// of its path under home (the starter has one server and one service).
func machineFile(t *testing.T, home, suffix string) []byte {
	t.Helper()
	b, err := os.ReadFile(machinePath(t, home, suffix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// machinePath is where, on this host, the starter's Mastodon folder on
// its machine keeps the file at suffix.
func machinePath(t *testing.T, home, suffix string) string {
	t.Helper()
	var found string
	filepath.WalkDir(home, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, "/opt/cosocial/cosocial-mastodon-northwind/"+suffix) {
			found = path
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s on the sandbox's machine", suffix)
	}
	return found
}

// envValues are the values of keys in an env file.
func envValues(t *testing.T, env []byte, keys ...string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(string(env), "\n") {
		for _, k := range keys {
			if v, ok := strings.CutPrefix(line, k+"="); ok {
				out = append(out, strings.Trim(v, "'"))
			}
		}
	}
	if len(out) != len(keys) {
		t.Fatalf("the env file holds %d of %v", len(out), keys)
	}
	return out
}

// instanceVersion asks Mastodon, through Caddy on the sandbox's machine,
// over TLS at domain with curl, trusting only the CA that machine's
// Caddy made, which version it runs. The sandbox runs between commands
// only when `cosocial sandbox` serves it: the machines then start again
// what they ran.
func (r *rehearsal) instanceVersion(domain string) string {
	t, home := r.t, r.sandboxHome()
	t.Helper()
	serving := start(t, r.dir, r.env, "sandbox")
	serving.await("Ctrl-C")
	defer func() {
		serving.interrupt(syscall.SIGINT)
		serving.exit()
	}()
	ca := filepath.Join(t.TempDir(), "root.crt")
	if err := os.WriteFile(ca, machineFile(t, home, "caddy/data/caddy/pki/authorities/local/root.crt"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgs, _ := filepath.Glob(filepath.Join(home, "*", "machines", "ssh_config"))
	if len(cfgs) != 1 {
		t.Fatalf("ssh_config of the machines: %v", cfgs)
	}
	cfg, _ := os.ReadFile(cfgs[0])
	var loopback string
	for _, line := range strings.Split(string(cfg), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.EqualFold(f[0], "HostName") {
			loopback = f[1]
		}
	}
	// The app starts again with the machine: curl waits for it, bounded.
	out, err := exec.Command("curl", "-fsS", "--retry", "60", "--retry-delay", "1", "--retry-all-errors", "--cacert", ca, "--resolve", domain+":443:"+loopback, "https://"+domain+"/api/v1/instance").CombinedOutput()
	if err != nil {
		t.Fatalf("curl https://%s/api/v1/instance at %s: %v\n%s", domain, loopback, err, out)
	}
	var inst struct{ Version string }
	if err := json.Unmarshal(out, &inst); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return inst.Version
}
