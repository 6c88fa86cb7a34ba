package providerplugin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path"
	"strings"
	"unicode"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/cosocial/cosocial/pkg/app"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/provider"
)

// AppToken is the resource type of a service of the app named name
// (a service block's first label): cosocial:app:Mastodon.
func AppToken(name string) string {
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return "cosocial:app:" + string(r)
}

// SecretsToken is the resource type of a service's secrets.
const SecretsToken = "cosocial:app:Secrets"

func init() {
	for _, name := range app.Names() {
		appTypes[tokens.Type(AppToken(name))] = appType(name)
	}
	appTypes[SecretsToken] = secretsType
}

// secretsType holds the secrets an app makes once (SECRET_KEY_BASE, the
// VAPID and Active Record keys…): a resource of their own, so that a new
// server, which replaces the deployment, keeps them; the program protects
// it as it protects databases, since what the app encrypted in its
// database needs them. They are never made again: an update only adds
// one that a new release needs.
var secretsType = &resourceType{
	inputs: []prop{
		{name: "app", kind: kString, required: true, replace: true},
		{name: "service", kind: kString, required: true, replace: true},
		// The source's values, at a migration's cutover: the members'
		// sessions, two-factor codes and encrypted columns were made with
		// them. The one way a secret that exists is ever replaced.
		{name: "adopted", kind: kStringMap, secret: true, whenGiven: true},
	},
	stable:  []string{"secrets"},
	capable: func(clouds) bool { return true },
	create: func(ctx context.Context, _ clouds, in props) (string, resource.PropertyMap, error) {
		secrets, _, err := app.MakeSecrets(in.text("app"), in.textMap("adopted"))
		if err != nil {
			return "", nil, err
		}
		return in.text("app") + "/" + in.text("service"), outputs(in, resource.PropertyMap{"secrets": secretMap(secrets)}), nil
	},
	read: func(ctx context.Context, _ clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
		return resource.PropertyMap(in), resource.PropertyMap(out), nil
	},
	update: func(ctx context.Context, _ clouds, id string, old, in, out props) (resource.PropertyMap, error) {
		have := out.textMap("secrets")
		if adopted := in.textMap("adopted"); len(adopted) > 0 {
			if have == nil {
				have = map[string]string{}
			}
			maps.Copy(have, adopted)
			provider.Report(ctx, "took %d secrets from the migration's source", len(adopted))
		}
		secrets, added, err := app.MakeSecrets(in.text("app"), have)
		if err != nil {
			return nil, err
		}
		if len(added) > 0 {
			provider.Report(ctx, "made %s, which this release needs", strings.Join(added, ", "))
		}
		return outputs(in, resource.PropertyMap{"secrets": secretMap(secrets)}), nil
	},
	delete: func(context.Context, clouds, string, props, props) error { return nil },
}

// appInputs are a service's settings and what the stack made for it. The
// server's address and pinned host key replace the service (a new server
// is a fresh deployment); everything else redeploys in place, a new
// version as the project's documented upgrade.
var appInputs = []prop{
	// The server's address; unknown to a preview while an interrupted
	// server's create is still to finish (dialApp needs it).
	{name: "server", kind: kString, replace: true},
	// Missing for a server whose create answer was lost: dialApp says so.
	{name: "hostKey", kind: kString, replace: true},
	{name: "loginKey", kind: kString, secret: true},
	{name: "name", kind: kString, required: true, replace: true},
	{name: "version", kind: kString, required: true},
	{name: "domain", kind: kString, required: true},
	{name: "mediaHost", kind: kString},
	{name: "internalTls", kind: kBool},
	{name: "acmeEmail", kind: kString},
	{name: "dbEngine", kind: kString, required: true},
	{name: "dbHost", kind: kString, required: true},
	{name: "dbPort", kind: kInt, required: true},
	{name: "dbName", kind: kString, required: true},
	{name: "dbUser", kind: kString, required: true},
	{name: "dbPassword", kind: kString, secret: true},
	{name: "dbSslMode", kind: kString},
	{name: "mediaEndpoint", kind: kString},
	{name: "mediaBucket", kind: kString},
	{name: "mediaAccessKey", kind: kString, secret: true},
	{name: "mediaSecretKey", kind: kString, secret: true},
	{name: "smtpHost", kind: kString},
	{name: "smtpPort", kind: kInt},
	{name: "smtpUser", kind: kString},
	{name: "smtpPassword", kind: kString, secret: true},
	{name: "smtpFrom", kind: kString},
	{name: "secrets", kind: kStringMap, secret: true},
	// A service whose data a migration has not moved yet: its files are
	// written, nothing is started (app.Deployment.Stage).
	{name: "staged", kind: kBool},
}

// appType deploys one project over SSH with the app package: create is
// the first deployment, update a redeployment or an upgrade, read asks
// the server what runs, delete stops the containers and keeps the files
// and data on the server.
func appType(name string) *resourceType {
	return &resourceType{
		inputs:  appInputs,
		stable:  []string{"deployed"},
		capable: func(clouds) bool { return true },
		validate: func(olds, news props) []failure {
			if olds == nil || news.unknown("version") || olds.text("version") == "" {
				return nil
			}
			if olderRelease(news.text("version"), olds.text("version")) {
				return []failure{{"version", fmt.Sprintf("version %s is older than %s, which runs now and migrated the database: an app is never downgraded by cosocial", news.text("version"), olds.text("version"))}}
			}
			if err := app.CheckUpgrade(name, olds.text("version"), news.text("version")); err != nil {
				return []failure{{"version", err.Error()}}
			}
			return nil
		},
		create: func(ctx context.Context, _ clouds, in props) (string, resource.PropertyMap, error) {
			id := appID(name, in)
			if res, err := deployApp(ctx, name, in, ""); err != nil {
				if len(res.Steps) == 0 {
					return "", nil, err // nothing done on the server
				}
				// Recorded as made, so that the next run finishes this
				// deployment (an update) instead of starting another.
				return "", nil, &partialCreate{ID: id, Outputs: outputs(in, nil), Err: err}
			}
			return id, outputs(in, deployed(in)), nil
		},
		read: func(ctx context.Context, _ clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
			if in.bool("staged") {
				// Nothing runs yet to ask; the cutover starts it.
				return resource.PropertyMap(in), resource.PropertyMap(out), nil
			}
			running, err := runningVersion(ctx, name, in)
			if unreachable(ctx, err) {
				// Its server does not answer: nothing can be said of the
				// app, and forgetting it would have the next run deploy
				// it as new. Whether the server is there is its own
				// resource's to say.
				provider.Report(ctx, "%s: its server does not answer (%v)", id, err)
				return resource.PropertyMap(in), resource.PropertyMap(out), nil
			}
			if err != nil {
				return nil, nil, err
			}
			if running == "" {
				return nil, nil, nil // nothing of it on the server any more
			}
			newIn := outputs(in, resource.PropertyMap{"version": resource.NewProperty(running)})
			newOut := outputs(props(newIn), nil)
			for k, v := range out {
				if _, isInput := newOut[k]; !isInput {
					newOut[k] = v
				}
			}
			newOut["deployed"] = resource.NewProperty(running)
			return newIn, newOut, nil
		},
		update: func(ctx context.Context, _ clouds, id string, old, in, out props) (resource.PropertyMap, error) {
			if res, err := deployApp(ctx, name, in, out.text("deployed")); err != nil {
				if res.RolledBack || len(res.Steps) == 0 {
					// The version that ran still runs: the state keeps
					// saying so, and the next plan shows the upgrade again.
					return nil, &unchanged{err}
				}
				// The new version runs, its last migrations failed: the
				// error says what to run.
				return outputs(in, deployed(in)), err
			}
			return outputs(in, deployed(in)), nil
		},
		delete: func(ctx context.Context, _ clouds, id string, in, out props) error {
			sh, err := dialApp(ctx, in)
			if unreachable(ctx, err) {
				// A server that no longer answers (deleted by hand, or
				// being deleted with this stack) runs nothing to stop.
				provider.Report(ctx, "%s: its server does not answer (%v): nothing to stop", id, err)
				return nil
			}
			if err != nil {
				return err
			}
			defer sh.Close()
			spec := appSpec(name, in)
			dir := app.Dir(spec)
			// The files and the app's data (Redis, Caddy's certificates)
			// stay: the database and the bucket hold what members made,
			// and they are protected resources of their own.
			_, stderr, err := sh.Run(ctx, fmt.Sprintf("[ ! -f %s ] || (%s)", remote.ShellQuote(path.Join(dir, "compose.yaml")), app.ComposeCommand(spec, "", "down")))
			if err != nil {
				return fmt.Errorf("stopping %s: %w: %s", spec.Project(), err, stderr)
			}
			return nil
		},
	}
}

// deployed records the release that runs: none while staged, so that the
// update after the cutover is a first deployment (Mastodon's db:prepare
// migrates the database moved in, if it needs to).
func deployed(in props) resource.PropertyMap {
	if in.bool("staged") {
		return resource.PropertyMap{}
	}
	return resource.PropertyMap{"deployed": resource.NewProperty(in.text("version"))}
}

// partialCreate is a create that made something it could not finish: the
// engine records ID and Outputs with the error, and the next run's update
// finishes it.
type partialCreate struct {
	ID      string
	Outputs resource.PropertyMap
	Err     error
}

func (e *partialCreate) Error() string { return e.Err.Error() }
func (e *partialCreate) Unwrap() error { return e.Err }

func appID(name string, in props) string {
	return in.text("server") + "/" + appSpec(name, in).Project()
}

// olderRelease compares release numbers such as 4.3.2; one that is not
// a release number is left to the render's check, which names it.
func olderRelease(a, b string) bool {
	va, errA := semver.ParseTolerant(a)
	vb, errB := semver.ParseTolerant(b)
	return errA == nil && errB == nil && va.LT(vb)
}

// unreachable says err is the service's server not answering (and not
// this operation being cancelled).
func unreachable(ctx context.Context, err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && ctx.Err() == nil
}

func appSpec(name string, in props) app.Spec {
	s := app.Spec{
		App: name, Name: in.text("name"), Version: in.text("version"), Domain: in.text("domain"),
		MediaHost: in.text("mediaHost"), InternalTLS: in.bool("internalTls"), ACMEEmail: in.text("acmeEmail"),
		Database: app.Database{
			Engine: in.text("dbEngine"), Host: in.text("dbHost"), Port: in.int("dbPort"), Name: in.text("dbName"),
			User: in.text("dbUser"), Password: in.text("dbPassword"), SSLMode: in.text("dbSslMode"),
		},
	}
	if in.text("mediaBucket") != "" {
		s.Media = &app.Bucket{Endpoint: in.text("mediaEndpoint"), Name: in.text("mediaBucket"),
			AccessKey: in.text("mediaAccessKey"), SecretKey: in.text("mediaSecretKey")}
	}
	if in.text("smtpHost") != "" {
		s.SMTP = &app.SMTP{Host: in.text("smtpHost"), Port: in.int("smtpPort"), User: in.text("smtpUser"),
			Password: in.text("smtpPassword"), From: in.text("smtpFrom")}
	}
	return s
}

// deployApp connects to the service's server and deploys the version in
// its inputs over previous ("" for the first deployment).
func deployApp(ctx context.Context, name string, in props, previous string) (app.Result, error) {
	sh, spec, err := connectApp(ctx, name, in)
	if err != nil {
		return app.Result{}, err
	}
	defer sh.Close()
	files, err := app.Render(spec, in.textMap("secrets"))
	if err != nil {
		return app.Result{}, err
	}
	return app.Deploy(ctx, sh, app.Deployment{Spec: spec, Files: files, Previous: previous, Stage: in.bool("staged"),
		Progress: func(step string) { provider.Report(ctx, "%s", step) }})
}

// unchanged is an update that left the resource as it was (a failed
// upgrade put back): the engine keeps the old state.
type unchanged struct{ error }

func (e *unchanged) Unwrap() error { return e.error }

// runningVersion asks the server which release of the service runs: ""
// when nothing of it is there.
func runningVersion(ctx context.Context, name string, in props) (string, error) {
	sh, spec, err := connectApp(ctx, name, in)
	if err != nil {
		return "", err
	}
	defer sh.Close()
	return app.Running(ctx, sh, spec, "")
}

// connectApp logs in to the service's server and returns its spec with
// the address the server's private services listen on.
func connectApp(ctx context.Context, name string, in props) (*remote.Client, app.Spec, error) {
	spec := appSpec(name, in)
	sh, err := dialApp(ctx, in)
	if err != nil {
		return nil, spec, err
	}
	if spec.Address, err = app.ServerAddress(ctx, sh); err != nil {
		sh.Close()
		return nil, spec, err
	}
	return sh, spec, nil
}

// dialApp logs in to the service's server with the login key the tool
// made for it, accepting only the host key it gave it (remote.DialServer).
func dialApp(ctx context.Context, in props) (*remote.Client, error) {
	if in.text("server") == "" {
		return nil, errors.New("the server has no address yet")
	}
	return remote.DialServer(ctx, remote.Server{Address: in.text("server"), HostKey: in.text("hostKey"), LoginKey: in.text("loginKey"),
		User: LoginUser, SSHConfig: os.Getenv("COSOCIAL_SSH_CONFIG")})
}
