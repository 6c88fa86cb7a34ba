package migrate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/pgcopy"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
)

// App is how an application is stopped, started and configured on its
// server.
type App struct {
	Stop, Start string // shell commands, run as the SSH user
	EnvFile     string
	// Secrets, at a target cosocial deployed, name the settings the app
	// made once (SECRET_KEY_BASE, OTP_SECRET, the VAPID and Active Record
	// keys): the deployment's env file already points at the target's
	// database and bucket, and the cutover puts the source's values of
	// these in it, since sessions, two-factor codes, push subscriptions
	// and encrypted columns were made with them. Empty for a target set
	// up by hand, whose env file is the source's, rewritten.
	Secrets []string
}

// Mastodon is a standard Mastodon install: its three systemd units and
// the env file in the mastodon user's checkout.
var Mastodon = App{
	Stop:    "systemctl stop mastodon-web mastodon-streaming mastodon-sidekiq",
	Start:   "systemctl start mastodon-web mastodon-streaming mastodon-sidekiq",
	EnvFile: "/home/mastodon/live/.env.production",
}

// Shell runs commands and moves files on a server; remote.Client is one.
type Shell interface {
	Run(ctx context.Context, cmd string) (stdout, stderr string, err error)
	ReadFile(ctx context.Context, path string) ([]byte, error)
	WriteFile(ctx context.Context, path string, data []byte, mode os.FileMode) error
}

// DNSSwitch points the service's hosts at the target server, and back.
type DNSSwitch interface {
	Switch(ctx context.Context) (detail string, err error)
	Restore(ctx context.Context) error
}

// Runner carries a migration out, step by step, from its journal: a killed
// run resumes at the step it was in, and a cutover that fails before the
// DNS switch is undone so that the source runs as it was.
type Runner struct {
	Journal *journal.Journal
	// Dir holds the object copies' own journals.
	Dir         string
	Connections Connections
	Public      map[string]bool // buckets whose objects are public-read
	LowDowntime bool
	Width       int
	// Source and Target are the app's servers; App how it runs at the
	// source, TargetApp at the target (App's commands when empty).
	Source, Target Shell
	App, TargetApp App
	// Adopt records the source's secrets as the target service's own
	// (its secrets resource in the stack), before they are written at
	// the target: a later up must write the same ones.
	Adopt func(ctx context.Context, secrets map[string]string) error
	// HealthURL is the target app's base URL, as its health check reaches
	// it; HTTP the client that does.
	HealthURL string
	HTTP      *http.Client
	// HealthTimeout is how long the app may take to come up; 3 minutes
	// when zero (Mastodon's first boot on a new server compiles nothing,
	// but its web and streaming processes take a minute).
	HealthTimeout time.Duration
	DNS           DNSSwitch
	// OnProgress receives the object copies' counters, by step.
	OnProgress func(step string, s objects.Snapshot)
	// Freeze records how long writers were stopped for the database.
	Freeze time.Duration
}

// Bulk copies while the service is up: every bucket, and the database's
// schema and data kept in step by logical replication in low-downtime
// mode. It can be run again: done steps are skipped, a copy resumes.
func (r *Runner) Bulk(ctx context.Context) error {
	return r.Journal.RunAll(ctx, r.bulkSteps())
}

func (r *Runner) bulkSteps() []journal.Step {
	var steps []journal.Step
	for _, name := range sortedKeys(r.Connections.Buckets) {
		e := r.Connections.Buckets[name]
		step := "copy-" + name + "-objects"
		steps = append(steps, journal.Step{Name: step, Do: func(ctx context.Context) (string, error) {
			res, err := objects.Copy(ctx, e[0], e[1], r.objectOptions(step, name))
			return copied(res), err
		}})
	}
	for _, name := range sortedKeys(r.Connections.Databases) {
		e := r.Connections.Databases[name]
		steps = append(steps, journal.Step{Name: "preflight-" + name, Do: func(ctx context.Context) (string, error) {
			rep, err := pgcopy.Preflight(ctx, e[0], e[1], r.mode(), pgcopy.Options{})
			if err != nil {
				return "", err
			}
			if blocking := rep.Blocking(); len(blocking) > 0 {
				var msgs []string
				for _, f := range blocking {
					msgs = append(msgs, f.Message)
				}
				return "", fmt.Errorf("the database cannot be copied: %s", strings.Join(msgs, "; "))
			}
			return "versions, extensions, encodings and roles checked", nil
		}})
		if r.LowDowntime {
			steps = append(steps, journal.Step{Name: "replicate-" + name, Do: func(ctx context.Context) (string, error) {
				if _, err := pgcopy.CopySchema(ctx, e[0], e[1], pgcopy.Options{}); err != nil {
					return "", err
				}
				if err := pgcopy.StartReplication(ctx, e[0], e[1], pgcopy.Options{}); err != nil {
					return "", err
				}
				st, err := pgcopy.WaitCaughtUp(ctx, e[0], e[1], pgcopy.Options{})
				return "in step: " + st.String(), err
			}, Undo: func(ctx context.Context) error {
				return pgcopy.StopReplication(ctx, e[0], e[1], pgcopy.Options{})
			}})
		}
	}
	return steps
}

func (r *Runner) mode() pgcopy.Mode {
	if r.LowDowntime {
		return pgcopy.LowDowntime
	}
	return pgcopy.DumpRestore
}

func (r *Runner) objectOptions(step, bucket string) objects.Options {
	o := objects.Options{Width: r.Width, Public: r.Public[bucket], Journal: filepath.Join(r.Dir, "objects")}
	if r.OnProgress != nil {
		o.OnProgress = func(s objects.Snapshot) { r.OnProgress(step, s) }
	}
	return o
}

// copied is a bulk copy's detail: a resumed copy counts what its earlier
// runs did too, from its journal.
func copied(res objects.Result) string {
	s := fmt.Sprintf("%d objects, %d bytes copied by this run", res.Objects, res.Bytes)
	if res.Previous > 0 {
		s += fmt.Sprintf("; %d objects (%d bytes) by earlier runs", res.Previous, res.PreviousBytes)
	}
	if res.KeptBytes > 0 {
		s += fmt.Sprintf("; %d bytes of a stopped run's parts kept, not sent again", res.KeptBytes)
	}
	return s
}

// synced is a final sync's detail.
func synced(res objects.Result) string {
	return fmt.Sprintf("%d objects, %d bytes copied; %d already up to date", res.Objects, res.Bytes, res.Skipped)
}

// Cutover runs the window: writers stopped, the last objects and rows
// copied, the app's environment rewritten and started on the target,
// checked, and the DNS switched. A failure before the switch undoes what
// was done, in reverse, so the source runs as it was; the journal keeps
// the record either way.
func (r *Runner) Cutover(ctx context.Context) error {
	steps := r.windowSteps()
	last := len(steps) - 1 // switch-dns
	if err := r.Journal.RunAll(ctx, steps[:last]); err != nil {
		// Undo with a context of its own: the run's may be what failed.
		undo, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if rerr := r.Journal.Rollback(undo, steps[:last]); rerr != nil {
			return fmt.Errorf("%w; undoing it failed too: %v", err, rerr)
		}
		return fmt.Errorf("%w; the steps done were undone and the source runs as before", err)
	}
	if err := r.Journal.Run(ctx, steps[last]); err != nil {
		return err
	}
	// The service runs at the target: what is left of the replication is
	// released now, outside the window. A failure here undoes nothing.
	if err := r.Journal.RunAll(ctx, r.releaseSteps()); err != nil {
		return fmt.Errorf("the service runs at the target, but %w; the next `cosocial migrate run` tries it again", err)
	}
	return nil
}

// releaseSteps drop, once the service runs at the target, the
// subscriptions, slots and publications of a low-downtime move.
func (r *Runner) releaseSteps() []journal.Step {
	if !r.LowDowntime {
		return nil
	}
	var steps []journal.Step
	for _, name := range sortedKeys(r.Connections.Databases) {
		e := r.Connections.Databases[name]
		steps = append(steps, journal.Step{Name: "release-" + name + "-replication", Do: func(ctx context.Context) (string, error) {
			return "subscription, replication slots and publication dropped", pgcopy.Release(ctx, e[0], e[1], pgcopy.Options{})
		}})
	}
	return steps
}

// countAtSwitch is the size above which a table is compared at the switch
// by its last primary key rather than counted: counting reads the whole
// table, and the window must not grow with the database.
const countAtSwitch = 64 << 20

func (r *Runner) windowSteps() []journal.Step {
	var steps []journal.Step
	// The target's env file is written before the writers stop: the
	// source's does not change in the window, nothing reads the target's
	// until start-target, and a setting still naming the source stops the
	// window before members lose a second of service.
	steps = append(steps, journal.Step{Name: "rewrite-env", Do: func(ctx context.Context) (string, error) {
		if len(r.target().Secrets) > 0 {
			return r.carrySecrets(ctx)
		}
		old, err := r.Source.ReadFile(ctx, r.App.EnvFile)
		if err != nil {
			return "", fmt.Errorf("reading the app's environment at the source: %w", err)
		}
		current, err := remote.ParseEnv(old)
		if err != nil {
			return "", err
		}
		changes, err := r.envChanges(current)
		if err != nil {
			return "", err
		}
		envOut, err := remote.RewriteEnv(old, changes)
		if err != nil {
			return "", err
		}
		// A setting the tool does not know that still names the
		// source would have the app at the target write there: two
		// databases taking writes, the service forked.
		if err := r.stillAtSource(envOut); err != nil {
			return "", err
		}
		if err := r.Target.WriteFile(ctx, r.target().EnvFile, envOut, 0o600); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s written at the target with %d settings changed", r.target().EnvFile, len(changes)), nil
	}})
	// The writers stop only once replication has caught up with them:
	// what is left to apply then is seconds' worth, not a backlog, and
	// the freeze stays short.
	if r.LowDowntime {
		for _, name := range sortedKeys(r.Connections.Databases) {
			e := r.Connections.Databases[name]
			steps = append(steps, journal.Step{Name: "catch-up-" + name, Do: func(ctx context.Context) (string, error) {
				st, err := pgcopy.WaitCaughtUp(ctx, e[0], e[1], pgcopy.Options{})
				return "before the writers stop: " + st.String(), err
			}})
		}
	}
	steps = append(steps, journal.Step{
		Name: "stop-writers",
		Do: func(ctx context.Context) (string, error) {
			return "the app is stopped at the source", run(ctx, r.Source, r.App.Stop)
		},
		Undo: func(ctx context.Context) error { return run(ctx, r.Source, r.App.Start) },
	})
	for _, name := range sortedKeys(r.Connections.Buckets) {
		e := r.Connections.Buckets[name]
		step := "final-" + name + "-sync"
		steps = append(steps, journal.Step{Name: step, Do: func(ctx context.Context) (string, error) {
			// With the writers stopped, what the target holds and the
			// source no longer does was deleted by members since the bulk
			// copy (or written by a target app of an undone window): it
			// goes, and each key is kept in a list beside the journal.
			opts := r.objectOptions(step, name)
			list, err := os.OpenFile(r.DeletedList(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return "", err
			}
			defer list.Close()
			var mu sync.Mutex
			opts.Delete = true
			opts.OnDeleted = func(key string) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(list, key)
			}
			res, err := objects.Delta(ctx, e[0], e[1], opts)
			detail := synced(res)
			if res.Deleted > 0 {
				detail += fmt.Sprintf("; %d deleted at the target, gone from the source (listed in %s)", res.Deleted, r.DeletedList(name))
			}
			return detail, err
		}})
	}
	for _, name := range sortedKeys(r.Connections.Databases) {
		e := r.Connections.Databases[name]
		if r.LowDowntime {
			steps = append(steps, journal.Step{Name: "final-" + name + "-sync", Do: func(ctx context.Context) (string, error) {
				res, err := pgcopy.Detach(ctx, e[0], e[1], pgcopy.Options{})
				r.Freeze += res.Freeze
				return fmt.Sprintf("caught up and detached; writes frozen %s", Round(res.Freeze)), err
			}, Undo: func(ctx context.Context) error {
				// The source takes writes again once the window is undone:
				// replication must follow it, for the next window.
				return pgcopy.Restart(ctx, e[0], e[1], pgcopy.Options{})
			}})
			continue
		}
		steps = append(steps, journal.Step{Name: "dump-restore-" + name, Do: func(ctx context.Context) (string, error) {
			// Until the DNS switch the target serves no one, and a copy run
			// again after an undone cutover must start from the source.
			res, err := pgcopy.Copy(ctx, e[0], e[1], pgcopy.Options{Clean: true})
			r.Freeze += res.Freeze
			return fmt.Sprintf("dumped in %s, restored in %s", Round(res.Dump), Round(res.Restore)), err
		}})
	}
	// The moment to compare is now, writers stopped and the target not
	// yet started: afterwards the app writes at the target. Row counts
	// (last keys for large tables) and sequences, not checksums, to keep
	// the freeze short; the final syncs compared the buckets' listings as
	// they ran.
	for _, name := range sortedKeys(r.Connections.Databases) {
		e := r.Connections.Databases[name]
		steps = append(steps, journal.Step{Name: "check-" + name + "-at-switch", Do: func(ctx context.Context) (string, error) {
			v, err := pgcopy.Verify(ctx, e[0], e[1], pgcopy.Options{ChecksumMaxBytes: 1, CountMaxBytes: countAtSwitch})
			if err != nil {
				return "", err
			}
			if diff := v.Different(); len(diff) > 0 {
				return "", fmt.Errorf("with the writers stopped, the target differs from the source in %s: the window is undone rather than start the app on it", strings.Join(diff, ", "))
			}
			byKey := 0
			for _, t := range v.Tables {
				if t.Checksum == pgcopy.LastKeyEqual {
					byKey++
				}
			}
			return fmt.Sprintf("%d tables with the source's row counts, %d larger ones with its last key, %d sequences ahead of it (%s)",
				len(v.Tables)-byKey, byKey, len(v.Sequences), Round(v.Duration)), nil
		}})
	}
	steps = append(steps,
		journal.Step{Name: "start-target", Do: func(ctx context.Context) (string, error) {
			return "the app is started at the target", run(ctx, r.Target, r.target().Start)
		}, Undo: func(ctx context.Context) error { return run(ctx, r.Target, r.target().Stop) }},
		journal.Step{Name: "health-check", Do: func(ctx context.Context) (string, error) {
			limit := r.HealthTimeout
			if limit == 0 {
				limit = 3 * time.Minute
			}
			hctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			return "/health and /api/v1/instance answer", remote.Health(hctx, r.HTTP, r.HealthURL)
		}},
		journal.Step{Name: "switch-dns", Do: func(ctx context.Context) (string, error) {
			if r.DNS == nil {
				return "no DNS to switch", nil
			}
			return r.DNS.Switch(ctx)
		}, Undo: func(ctx context.Context) error {
			if r.DNS == nil {
				return nil
			}
			return r.DNS.Restore(ctx)
		}},
	)
	return steps
}

// target is how the app runs at the target: TargetApp, or App where the
// caller gave none.
func (r *Runner) target() App {
	if r.TargetApp.Start == "" {
		return r.App
	}
	return r.TargetApp
}

// carrySecrets writes the source's secrets into the env file cosocial
// deployed at the target, after recording them in the stack; every other
// setting stays the deployment's, which names the target's database and
// bucket.
func (r *Runner) carrySecrets(ctx context.Context) (string, error) {
	t := r.target()
	srcEnv, err := r.Source.ReadFile(ctx, r.App.EnvFile)
	if err != nil {
		return "", fmt.Errorf("reading the app's environment at the source: %w", err)
	}
	source, err := remote.ParseEnv(srcEnv)
	if err != nil {
		return "", err
	}
	tgtEnv, err := r.Target.ReadFile(ctx, t.EnvFile)
	if err != nil {
		return "", fmt.Errorf("reading the env file the deployment wrote at the target (run up first): %w", err)
	}
	carried := map[string]string{}
	for _, k := range t.Secrets {
		if v := source[k]; v != "" {
			carried[k] = v
		}
	}
	if len(carried) == 0 {
		return "", fmt.Errorf("the source's %s holds none of the app's secrets (%s): it is not the app's env file, and the target would start with secrets no member's session or key was made with", r.App.EnvFile, strings.Join(t.Secrets, ", "))
	}
	// The instance's names are its identity to every other server: the
	// deployment's must be the source's, or followers are orphaned.
	target, err := remote.ParseEnv(tgtEnv)
	if err != nil {
		return "", err
	}
	for _, k := range []string{"LOCAL_DOMAIN", "WEB_DOMAIN", "S3_ALIAS_HOST"} {
		if source[k] != "" && source[k] != target[k] {
			return "", fmt.Errorf("the source's %s is not the deployment's (the service's domain and media_host in the description): moved, the instance would answer under another name than the one other servers know; make the description's the source's and run up", k)
		}
	}
	envOut, err := remote.KeepEnv(tgtEnv, carried)
	if err != nil {
		return "", err
	}
	if err := r.stillAtSource(envOut); err != nil {
		return "", err
	}
	if r.Adopt != nil {
		if err := r.Adopt(ctx, carried); err != nil {
			return "", fmt.Errorf("recording the source's secrets in the stack: %w", err)
		}
	}
	if err := r.Target.WriteFile(ctx, t.EnvFile, envOut, 0o600); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s at the target keeps the deployment's settings, with the source's %d secrets (recorded in the stack)", t.EnvFile, len(carried)), nil
}

// DeletedList is the file listing the objects of a bucket that the final
// sync deleted at the target, one key per line.
func (r *Runner) DeletedList(bucket string) string {
	return filepath.Join(r.Dir, "deleted-"+bucket+".txt")
}

// envChanges are the settings that point the app at the target: its
// database and its bucket. S3_ALIAS_HOST is never among them: media URLs
// must stay what remote servers have cached. DATABASE_URL, which Rails
// reads before the DB_* settings, is rewritten where the app has one.
func (r *Runner) envChanges(current map[string]string) (map[string]string, error) {
	changes := map[string]string{}
	for _, name := range sortedKeys(r.Connections.Databases) {
		dsn := r.Connections.Databases[name][1]
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, errors.New("the target database's address is not a URL")
		}
		if _, ok := current["DATABASE_URL"]; ok {
			changes["DATABASE_URL"] = dsn
		}
		pw, _ := u.User.Password()
		changes["DB_HOST"] = u.Hostname()
		changes["DB_PORT"] = u.Port()
		changes["DB_NAME"] = strings.TrimPrefix(u.Path, "/")
		changes["DB_USER"] = u.User.Username()
		changes["DB_PASS"] = pw
	}
	for _, name := range sortedKeys(r.Connections.Buckets) {
		b := r.Connections.Buckets[name][1]
		u, err := url.Parse(b.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("the target bucket's endpoint %q is not a URL", b.Endpoint)
		}
		changes["S3_ENDPOINT"] = b.Endpoint
		changes["S3_HOSTNAME"] = u.Host
		changes["S3_BUCKET"] = b.Name
		changes["AWS_ACCESS_KEY_ID"] = b.AccessKey
		changes["AWS_SECRET_ACCESS_KEY"] = b.SecretKey
		if region := r.Connections.Buckets[name][1].Region; region != "" {
			changes["S3_REGION"] = region
		}
	}
	return changes, nil
}

// SourceSettingError is a setting of the app's environment that would
// still reach the source after the cutover. It names the key and what of
// the source it names, never the value.
type SourceSettingError struct {
	Keys []string // "DATABASE_REPLICA_URL (the source database's address)"
}

func (e *SourceSettingError) Error() string {
	return fmt.Sprintf("the app's environment would still reach the source after the cutover: %s. "+
		"The app at the target would keep using the source, and the two would part ways. "+
		"Point these at the target, or remove them, in the source's env file, then run the cutover again",
		strings.Join(e.Keys, "; "))
}

// stillAtSource looks through the environment written for the target for
// any value naming the source: its database's address or password, its
// bucket's endpoint or keys. Settings a move must keep (S3_ALIAS_HOST…)
// are not judged: they never point at a provider.
func (r *Runner) stillAtSource(env []byte) error {
	settings, err := remote.ParseEnv(env)
	if err != nil {
		return err
	}
	type mark struct{ what, needle string }
	var marks []mark
	for _, name := range sortedKeys(r.Connections.Databases) {
		src, errS := url.Parse(r.Connections.Databases[name][0])
		dst, errT := url.Parse(r.Connections.Databases[name][1])
		if errS != nil || errT != nil {
			continue
		}
		if src.Host != dst.Host {
			marks = append(marks, mark{"the source database's address", src.Host})
		}
		if pw, _ := src.User.Password(); len(pw) >= 8 {
			marks = append(marks, mark{"the source database's password", pw})
		}
	}
	for _, name := range sortedKeys(r.Connections.Buckets) {
		src, dst := r.Connections.Buckets[name][0], r.Connections.Buckets[name][1]
		if su, err := url.Parse(src.Endpoint); err == nil && su.Host != "" {
			if du, err := url.Parse(dst.Endpoint); err != nil || du.Host != su.Host {
				marks = append(marks, mark{"the source bucket's endpoint", su.Host})
			}
		}
		for _, k := range []mark{{"the source bucket's access key", src.AccessKey}, {"the source bucket's secret key", src.SecretKey}} {
			if len(k.needle) >= 8 {
				marks = append(marks, k)
			}
		}
	}
	var found []string
	for _, key := range sortedKeys(settings) {
		if remote.Protected(key) {
			continue
		}
		for _, m := range marks {
			if strings.Contains(settings[key], m.needle) {
				found = append(found, fmt.Sprintf("%s (%s)", key, m.what))
				break
			}
		}
	}
	if len(found) > 0 {
		return &SourceSettingError{Keys: found}
	}
	return nil
}

// run runs one command, with what it printed in the error when it fails.
func run(ctx context.Context, sh Shell, cmd string) error {
	_, stderr, err := sh.Run(ctx, cmd)
	if err != nil {
		if msg := strings.TrimSpace(stderr); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}
