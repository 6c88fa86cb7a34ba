package sandbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
	"github.com/cosocial/cosocial/pkg/sandbox/simcore"
)

// A simulator is one provider kind's API as the sandbox plays it. Each
// registers itself once, from its own file here (sim_<kind>.go), under
// the kind it plays, as the kind registers itself in
// pkg/provider/providers: Start, Env and Close go through this list, so
// a new kind's simulator is one new file.
type simulator struct {
	// kind is the provider kind it plays (providers.Kind.Name).
	kind string
	// ports name its ports in ports.json, kept between runs so that the
	// endpoints a stack's state records stay true. Each is open before
	// start runs, so the simulator may give its own URLs out.
	ports []string
	// start makes the simulator over the sandbox's backends and returns
	// what each port serves, in the order of ports.
	start func(ctx context.Context, sb *Sandbox, opts Options, env simEnv) ([]http.Handler, error)
	// env is what a client of the simulator needs in its environment.
	env func(sb *Sandbox) map[string]string
	// close stops it, keeping its records for the next run.
	close func(sb *Sandbox) error
}

// simEnv is what the sandbox gives every simulator besides its backends.
type simEnv struct {
	// timing is how long asynchronous work takes.
	timing ovhsim.Timing
	// room plays the servers the simulators make; nil without backends.
	room simcore.Machines
}

var simulators []simulator

// register adds a simulator; a kind is played by one simulator only.
func register(s simulator) {
	for _, o := range simulators {
		if o.kind == s.kind {
			panic("sandbox: a second simulator for the kind " + s.kind)
		}
	}
	simulators = append(simulators, s)
}

// Simulates is whether the sandbox plays the provider kind.
func Simulates(kind string) bool {
	for _, s := range simulators {
		if s.kind == kind {
			return true
		}
	}
	return false
}

// serve opens a simulator's ports, starts it and serves it.
func (sb *Sandbox) serve(ctx context.Context, opts Options, env simEnv, sim simulator) error {
	first := len(sb.served)
	for _, name := range sim.ports {
		l, err := listen(sb.ports[name])
		if err != nil {
			return err
		}
		sb.ports[name] = l.Addr().(*net.TCPAddr).Port
		sb.served = append(sb.served, served{listener: l})
	}
	sb.started = append(sb.started, sim)
	handlers, err := sim.start(ctx, sb, opts, env)
	if err != nil {
		return err
	}
	if len(handlers) != len(sim.ports) {
		return fmt.Errorf("%d handlers for %d ports", len(handlers), len(sim.ports))
	}
	for i, h := range handlers {
		s := &sb.served[first+i]
		s.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go s.server.Serve(s.listener)
	}
	return nil
}

// port is the port a simulator's port name was given.
func (sb *Sandbox) port(name string) int { return sb.ports[name] }

// stopSimulators stops serving, then stops each simulator started.
func (sb *Sandbox) stopSimulators() error {
	var errs []error
	for _, s := range sb.served {
		errs = append(errs, shutdown(s.server, s.listener))
	}
	for _, sim := range sb.started {
		errs = append(errs, sim.close(sb))
	}
	return errors.Join(errs...)
}

// Env is the environment a client of the sandbox needs: each simulator's
// credentials and endpoint (go-ovh's, godo's, gophercloud's OS_*), and
// where the servers' sshd listen.
func (sb *Sandbox) Env() map[string]string {
	env := map[string]string{}
	for _, sim := range sb.started {
		maps.Copy(env, sim.env(sb))
	}
	if sb.machines != nil {
		// Where each server's sshd really listens (the plugin deploys
		// services over SSH); `ssh -F` takes the same file.
		env["COSOCIAL_SSH_CONFIG"] = sb.machines.SSHConfig()
	}
	return env
}
