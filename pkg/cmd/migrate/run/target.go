package run

import (
	"context"
	"path"

	"github.com/cosocial/cosocial/pkg/app"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/migrate"
)

// targetApp says how the app runs at the target: as cosocial deployed it
// (the service on the moved server, its Compose project left stopped by
// up, its env file given the source's secrets at the window, which the
// stack records first), or as the --target-* flags say for an app set up
// by hand.
func targetApp(opts *Options, both *sourcetarget.Opened, r *migrate.Runner) error {
	if opts.TargetEnvFile != "" || opts.TargetStartCmd != "" || opts.TargetStopCmd != "" {
		r.TargetApp = migrate.App{EnvFile: opts.TargetEnvFile, Start: opts.TargetStartCmd, Stop: opts.TargetStopCmd}
		if r.TargetApp.EnvFile == "" {
			r.TargetApp.EnvFile = opts.EnvFile
		}
		if r.TargetApp.Start == "" {
			r.TargetApp.Start = opts.StartCmd
		}
		if r.TargetApp.Stop == "" {
			r.TargetApp.Stop = opts.StopCmd
		}
		return nil
	}
	svc := migrate.MovedService(both.Description)
	if svc == nil {
		return nil
	}
	a, err := app.Lookup(svc.App)
	if err != nil {
		return err
	}
	spec := app.Spec{App: svc.App, Name: svc.Name}
	r.TargetApp = migrate.App{
		EnvFile: path.Join(app.Dir(spec), a.EnvFile),
		Start:   app.ComposeCommand(spec, "", "up -d --remove-orphans"),
		Stop:    app.ComposeCommand(spec, "", "stop"),
	}
	r.TargetApp.Secrets = a.SecretNames()
	if both.Stack != nil {
		addr := svc.Addr().String()
		r.Adopt = func(ctx context.Context, secrets map[string]string) error {
			return both.Stack.AdoptSecrets(ctx, addr, secrets, nil)
		}
	}
	return nil
}
