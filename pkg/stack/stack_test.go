package stack_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/provider/ovh"
	"github.com/cosocial/cosocial/pkg/providerplugin"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/stack/stacktest"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
)

// TestMain lets the test binary serve the provider plugin: the engine
// starts it through the pulumi-resource-cosocial link, as it starts
// cosocial itself in real use.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "pulumi-resource-"+providerplugin.Name {
		if err := providerplugin.Serve(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func load(t *testing.T, src string) *model.Description {
	t.Helper()
	res := config.LoadBytes("cosocial.hcl", []byte(src))
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics)
	}
	return res.Description
}

func TestEngineLifeCycleOnTheSandbox(t *testing.T) {
	engine := stacktest.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sb := sandboxtest.Start(t, sandbox.Options{})
	env := sb.Env()
	src, err := os.ReadFile("../../stacks/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	open := func(src string) *stack.Stack {
		t.Helper()
		exe, _ := os.Executable()
		st, err := stack.Open(ctx, stack.Options{
			Description: load(t, src), Stack: "test", Dir: dir, Passphrase: "correct horse", Engine: engine,
			PluginBinary: exe, Env: env, Program: stack.ProgramOptions{Endpoints: map[string]string{"beauharnois": sb.OVHEndpoint()}, InternalTLS: true},
		})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open(string(src))
	plan, err := st.Preview(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The server, database, bucket, and the service with its secrets.
	if c := plan.Counts(); c[stack.ActionCreate] != 5 {
		t.Fatalf("preview of a new stack: %+v", plan.Changes)
	}
	if _, err := st.Up(ctx, nil); err != nil {
		t.Fatal(err)
	}
	out, err := st.Outputs(ctx)
	if err != nil || out["server.web.ipv4"].Value == "" || !out["database.main.passwords"].Secret {
		t.Fatalf("outputs: %+v %v", out, err)
	}
	plan, err = st.Preview(ctx, nil)
	if err != nil || plan.HasChanges() {
		t.Fatalf("a second preview changes something: %+v %v", plan.Changes, err)
	}

	st = open(strings.Replace(string(src), "disk_gb  = 80", "disk_gb  = 120", 1))
	plan, err = st.Preview(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var db *stack.Change
	for _, c := range plan.Changes {
		if c.Address == "database.main" {
			db = c
		}
	}
	if db == nil || db.Action != stack.ActionUpdate || len(db.Properties) != 1 || db.Properties[0].Name != "disk_gb" || db.Properties[0].Before != "80" || db.Properties[0].After != "120" || db.Properties[0].Replace {
		t.Fatalf("disk change: %+v", db)
	}
	if _, err := st.Up(ctx, nil); err != nil {
		t.Fatal(err)
	}

	// A new image replaces the server: a new one, then the old one gone.
	serverID := func() string {
		res, _ := st.Resources(ctx)
		for _, r := range res {
			if r.Address() == "server.web" {
				return r.ID
			}
		}
		return ""
	}
	oldID := serverID()
	st = open(strings.Replace(strings.Replace(string(src), "disk_gb  = 80", "disk_gb  = 120", 1), `image    = "Debian 12"`, `image    = "Ubuntu 24.04"`, 1))
	plan, err = st.Preview(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var web *stack.Change
	for _, c := range plan.Changes {
		if c.Address == "server.web" {
			web = c
		}
	}
	if web == nil || web.Action != stack.ActionReplace {
		t.Fatalf("image change: %+v", plan.Changes)
	}
	if _, err := st.Up(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if id := serverID(); id == "" || id == oldID {
		t.Fatalf("server after replacement: %q (was %q)", id, oldID)
	}

	// A server deleted outside the tool is drift, and nothing is changed.
	cloud, err := ovh.New(ovh.Config{Endpoint: sb.OVHEndpoint(), Project: "northwind", Region: "BHS5",
		ApplicationKey: sb.Credentials.ApplicationKey, ApplicationSecret: sb.Credentials.ApplicationSecret, ConsumerKey: sb.Credentials.ConsumerKey, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cloud.DeleteServer(ctx, serverID()); err != nil {
		t.Fatal(err)
	}
	plan, err = st.Drift(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range plan.Changes {
		if c.Address == "server.web" && c.Action == stack.ActionGone {
			found = true
		}
	}
	if !found {
		t.Fatalf("drift does not see the deleted server: %+v", plan.Changes)
	}

	// destroy leaves the protected data behind; with protection lifted it
	// removes everything.
	if _, err := st.Refresh(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Destroy(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	res, _ := st.Resources(ctx)
	var left []string
	for _, r := range res {
		if r.Custom && !strings.HasPrefix(r.Type, "pulumi:providers:") {
			left = append(left, r.Address())
		}
	}
	sort.Strings(left)
	if strings.Join(left, ",") != "bucket.media,database.main,service.mastodon.northwind.secrets" {
		t.Fatalf("after destroy without data: %v", left)
	}
	if err := st.Unprotect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Destroy(ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	res, _ = st.Resources(ctx)
	if len(res) > 0 {
		t.Fatalf("after destroy with data: %+v", res)
	}
}

// TestAMovedServiceStartsWithTheSourcesSecrets: a service whose data a
// migration moves is staged by up (nothing started); the cutover records
// the source's secrets in the stack (AdoptSecrets, the one change of a
// secret that exists); the up after the cutover starts the app with
// them, and they stay without being handed over again.
func TestAMovedServiceStartsWithTheSourcesSecrets(t *testing.T) {
	engine := stacktest.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// A folder the database clusters' postgres account can reach.
	home := pgserver.TempDir(t)
	sb := sandboxtest.Start(t, sandbox.Options{Dir: home})
	src, err := os.ReadFile("../../stacks/starter/cosocial.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const service = "service.mastodon.northwind"
	open := func(awaiting bool) *stack.Stack {
		t.Helper()
		exe, _ := os.Executable()
		prog := stack.ProgramOptions{Endpoints: map[string]string{"beauharnois": sb.OVHEndpoint()}, InternalTLS: true}
		if awaiting {
			prog.AwaitingCutover = map[string]bool{service: true}
		}
		st, err := stack.Open(ctx, stack.Options{Description: load(t, string(src)), Stack: "test", Dir: dir, Passphrase: "correct horse",
			Engine: engine, PluginBinary: exe, Env: sb.Env(), Program: prog})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	envFile := func() map[string]string {
		t.Helper()
		var found string
		filepath.WalkDir(home, func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, "/opt/cosocial/cosocial-mastodon-northwind/.env.production") {
				found = path
			}
			return nil
		})
		b, err := os.ReadFile(found)
		if err != nil {
			t.Fatalf("the service's env file on its machine: %v", err)
		}
		env := map[string]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = strings.Trim(v, "'")
			}
		}
		return env
	}

	var said strings.Builder
	hear := func(e events.EngineEvent) {
		if e.DiagnosticEvent != nil {
			said.WriteString(e.DiagnosticEvent.Message)
		}
	}
	st := open(true)
	if _, err := st.Up(ctx, hear); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(said.String(), "mastodon starts at the migration's cutover") || strings.Contains(said.String(), "db:prepare") {
		t.Errorf("up did not stage the service:\n%s", said.String())
	}
	made := envFile()
	if made["SECRET_KEY_BASE"] == "" {
		t.Fatal("the staged deployment wrote no SECRET_KEY_BASE")
	}

	adopted := map[string]string{"SECRET_KEY_BASE": "adopted-from-the-source-0123456789", "OTP_SECRET": "adopted-otp-0123456789"}
	if err := st.AdoptSecrets(ctx, service, adopted, nil); err != nil {
		t.Fatal(err)
	}

	// The cutover done: up starts the app, with the source's secrets.
	st = open(false)
	plan, err := st.Preview(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Changes {
		if c.Address == service+".secrets" && c.Action != stack.ActionSame {
			t.Errorf("the secrets change again once handed over: %+v", c)
		}
	}
	if _, err := st.Up(ctx, nil); err != nil {
		t.Fatal(err)
	}
	env := envFile()
	for k, v := range adopted {
		if env[k] != v {
			t.Errorf("%s on the server is not the source's", k)
		}
	}
	if env["VAPID_PRIVATE_KEY"] != made["VAPID_PRIVATE_KEY"] || env["VAPID_PRIVATE_KEY"] == "" {
		t.Error("a secret the source did not hand over was made again")
	}
	if plan, err := st.Preview(ctx, nil); err != nil || plan.HasChanges() {
		t.Errorf("after the cutover's up: %+v, %v", plan.Changes, err)
	}
}
