// Package run is `cosocial migrate run`: the bulk copies while the service
// is up, then — once confirmed — the cutover window, each step journaled
// so that an interrupted run resumes where it stopped and a failure before
// the DNS switch leaves the source running as it was.
package run

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/views"
)

// Options are migrate run's dependencies and flags.
type Options struct {
	sourcetarget.Deps
	sourcetarget.Flags
	// Confirm asks before the window opens; tests answer it.
	Confirm func(question string) (bool, error)

	Yes            bool
	BulkOnly       bool
	IgnoreBlockers bool
	Width          int
	DumpRestore    bool
	Verify         bool

	SSHUser    string
	SSHKey     string
	KnownHosts string
	SourceSSH  string // host[:port], when not the source server's address
	TargetSSH  string
	HealthURL  string
	EnvFile    string
	StopCmd    string
	StartCmd   string
	// The target's, when cosocial did not deploy the app there: by
	// default the deployment's env file and Compose project.
	TargetEnvFile  string
	TargetStopCmd  string
	TargetStartCmd string
}

// NewCmdRun builds the command; runF replaces the run function in tests.
func NewCmdRun(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Deps: sourcetarget.NewDeps(f)}
	opts.Confirm = func(q string) (bool, error) {
		if !f.IOStreams.CanPrompt() {
			return false, errors.New("the cutover asks before the service goes down; not at a terminal, pass --yes (the bulk copies are kept)")
		}
		fmt.Fprintf(f.IOStreams.Out, "%s Only 'yes' is accepted: ", q)
		answer, _ := bufio.NewReader(f.IOStreams.In).ReadString('\n')
		return strings.TrimSpace(answer) == "yes", nil
	}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Copy everything while the service runs, then cut over in the window",
		Long: `First, with the service up: copy every paired bucket (resumable, each object
verified) and, in low-downtime mode, copy the database and keep it in step by
logical replication. Then, after asking (or with --yes), the window:

  rewrite-env        the app's env file at the target: the one up deployed
                     there, given the source's secrets (SECRET_KEY_BASE,
                     OTP_SECRET, VAPID and Active Record keys), which the
                     stack records as the service's own; for an app set up
                     by hand (--target-*), the source's, pointed at the
                     target's database and bucket (S3_ALIAS_HOST unchanged)
  catch-up-*         wait until replication has caught up (low-downtime)
  stop-writers       stop the app at the source (SSH)
  final-*-sync       copy what was written since; catch the database up, set
                     its sequences and detach (or dump and restore it with
                     --dump-restore)
  check-*-at-switch  row counts (last keys of large tables) and sequences
  start-target       start the app at the target (SSH): the deployment's
                     Compose project, which up wrote and left stopped
  health-check       /health and /api/v1/instance on the target
  switch-dns         the services' A records at DigitalOcean pointed at the
                     target server
  release-*-replication  drop the subscription, slots and publication

Every step is journaled beside the stack (cosocial migrate status shows it);
running again resumes. A failure before switch-dns undoes the steps done, in
reverse: the source runs as it was.

SSH checks host keys: the target server's against the key cosocial gave it
(pinned in the stack, which also holds the key it logs in with); the
source's against known_hosts (--known-hosts), the key coming from the SSH
agent or --ssh-key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if err := opts.Check(opts.Width); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	opts.Flags.Bind(cmd)
	fl := cmd.Flags()
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "start the cutover without asking")
	fl.BoolVar(&opts.BulkOnly, "bulk-only", false, "stop after the bulk copies, before the window")
	fl.BoolVar(&opts.IgnoreBlockers, "ignore-blockers", false, "start the cutover even when the plan has blockers (a TTL longer than the budget, …)")
	fl.IntVar(&opts.Width, "width", 16, "parallel object transfers")
	fl.BoolVar(&opts.DumpRestore, "dump-restore", false, "copy the database in the window with pg_dump/pg_restore instead of logical replication")
	fl.BoolVar(&opts.Verify, "verify", true, "compare every object and table once the cutover is done")
	fl.StringVar(&opts.SSHUser, "ssh-user", "root", "the SSH user on both app servers")
	fl.StringVar(&opts.SSHKey, "ssh-key", "", "a private key file (after the agent's keys)")
	fl.StringVar(&opts.KnownHosts, "known-hosts", "", "the known_hosts file that vouches for the servers (default ~/.ssh/known_hosts)")
	fl.StringVar(&opts.SourceSSH, "source-ssh", "", "[user@]host[:port] of the source app server, when not --ssh-user at its public address")
	fl.StringVar(&opts.TargetSSH, "target-ssh", "", "[user@]host[:port] of the target app server, when not --ssh-user at its public address")
	fl.StringVar(&opts.HealthURL, "health-url", "", "the target app's base URL for the health check (default https://<domain>, reached at the target's address)")
	fl.StringVar(&opts.EnvFile, "env-file", migrate.Mastodon.EnvFile, "the app's env file at the source")
	fl.StringVar(&opts.StopCmd, "stop-command", migrate.Mastodon.Stop, "stops the app's writers at the source")
	fl.StringVar(&opts.StartCmd, "start-command", migrate.Mastodon.Start, "starts the app at the source (when a window is undone)")
	fl.StringVar(&opts.TargetEnvFile, "target-env-file", "", "the app's env file at the target, for an app not deployed there by cosocial (default: the deployment's)")
	fl.StringVar(&opts.TargetStopCmd, "target-stop-command", "", "stops the app at the target, for an app not deployed there by cosocial (default: the deployment's Compose project)")
	fl.StringVar(&opts.TargetStartCmd, "target-start-command", "", "starts the app at the target, for an app not deployed there by cosocial (default: the deployment's Compose project)")
	return cmd
}

func runRun(opts *Options) error {
	ctx := opts.Context()
	both, err := sourcetarget.Open(opts.Deps, opts.Flags, true)
	if err != nil {
		return err
	}
	defer both.Close()
	conns, err := both.Connections()
	if err != nil {
		return err
	}
	dir := migrate.JournalDir(opts.StackDir(opts.Sandbox), both.Migration)
	j, err := journal.Open(filepath.Join(dir, "journal.json"))
	if err != nil {
		return err
	}
	defer j.Close()
	public := map[string]bool{}
	for _, b := range both.Migration.Source.Buckets {
		public[b.Name] = b.Public
	}
	bar := map[string]*progress{}
	r := &migrate.Runner{Journal: j, Dir: dir, Connections: conns, Public: public, LowDowntime: !opts.DumpRestore, Width: opts.Width,
		App: migrate.App{Stop: opts.StopCmd, Start: opts.StartCmd, EnvFile: opts.EnvFile}}
	if err := targetApp(opts, both, r); err != nil {
		return err
	}
	if opts.IO.IsStderrTTY() {
		r.OnProgress = func(step string, s objects.Snapshot) {
			if bar[step] == nil {
				bar[step] = &progress{bar: views.NewCopyBar(opts.IO.ErrOut, step)}
			}
			bar[step].last = s
			bar[step].bar.Update(s)
		}
	}
	fmt.Fprintf(opts.IO.ErrOut, "Copying while the service runs (journal: %s)…\n", j.Path())
	err = r.Bulk(ctx)
	finishBars(bar)
	views.MigrationStatus(opts.IO.ErrOut, j.Status(), opts.IO.ErrColorScheme())
	if err != nil {
		return err
	}
	if opts.BulkOnly {
		fmt.Fprintln(opts.IO.ErrOut, "Bulk copies done. Run again without --bulk-only for the cutover.")
		return nil
	}
	// What blocks the plan blocks the window: a TTL that outlasts the
	// budget is downtime the members would see.
	p := migrate.MakePlan(migrate.Input{Target: both.Description, Facts: both.Stock.Facts, Created: both.Created, LowDowntime: !opts.DumpRestore})
	if len(p.Blockers) > 0 && !opts.IgnoreBlockers {
		cs := opts.IO.ErrColorScheme()
		fmt.Fprintln(opts.IO.ErrOut, cs.Red(fmt.Sprintf("The cutover is not started: %d thing(s) block it (migrate plan shows them too):", len(p.Blockers))))
		for _, b := range p.Blockers {
			fmt.Fprintf(opts.IO.ErrOut, "  %s %s\n", cs.Red("✗"), b)
		}
		fmt.Fprintln(opts.IO.ErrOut, "The bulk copies are kept. Fix these, or pass --ignore-blockers to go on regardless.")
		return exit.ErrSilent
	}
	if !opts.Yes {
		ok, err := opts.Confirm(fmt.Sprintf("Start the cutover now? The service will be down for the window (budget %s).", migrate.Round(both.Migration.DowntimeBudget)))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(opts.IO.ErrOut, "Not now: the bulk copies are kept, and the next run starts from them.")
			return exit.ErrCancel
		}
	}
	if err := connect(ctx, opts, both, r); err != nil {
		return err
	}
	start := time.Now()
	err = r.Cutover(ctx)
	finishBars(bar)
	views.MigrationStatus(opts.IO.Out, j.Status(), opts.IO.ColorScheme())
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "\nCutover done in %s; members could not write for %s (stop-writers to start-target), of which the database steps took %s.\n",
		migrate.Round(time.Since(start)), migrate.Round(migrate.Frozen(j.Status())), migrate.Round(r.Freeze))
	if opts.Verify {
		// The app at the target writes from its start on: only what the
		// source had is judged.
		checks := migrate.Verify(ctx, conns, opts.Width, 1<<30, true)
		views.Verify(opts.IO.Out, checks, opts.IO.ColorScheme())
		for _, c := range checks {
			if !c.OK() {
				return exit.ErrSilent
			}
		}
	}
	return nil
}

// progress is a copy's bar and the last counters it drew.
type progress struct {
	bar  *views.CopyBar
	last objects.Snapshot
}

func finishBars(bars map[string]*progress) {
	for k, b := range bars {
		b.bar.Finish(b.last)
		delete(bars, k)
	}
}
