package run

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/migrate/sourcetarget"
	"github.com/cosocial/cosocial/pkg/migrate"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/model"
)

// connect reaches both app servers over SSH, with their host keys checked
// before anything runs, and sets up the health check and the DNS switch.
func connect(ctx context.Context, opts *Options, both *sourcetarget.Opened, r *migrate.Runner) error {
	pairs, _, _ := migrate.Pairs(both.Description)
	var server string
	for _, p := range pairs {
		if p.Addr.Kind == model.KindServer {
			server = p.Addr.Name
			break
		}
	}
	if server == "" {
		return errors.New("the migration pairs no server: there is no app to move")
	}
	sourceIP := both.Stock.Facts.Servers[server].IPv4
	targetIP, err := both.TargetServer(server)
	if err != nil {
		return err
	}
	if opts.Sandbox && opts.SourceSSH == "" {
		return errors.New("the sandbox's DigitalOcean runs no app to move: give --source-ssh (a server of your own running it, in your known_hosts) to rehearse the cutover")
	}
	dial := func(addr, fallback string) (*remote.Client, error) {
		if addr == "" {
			addr = fallback
		}
		a, err := parseSSH(addr, opts.SSHUser)
		if err != nil {
			return nil, err
		}
		return remote.Dial(ctx, remote.Target{Host: a.host, Port: a.port, User: a.user, KnownHosts: opts.KnownHosts, KeyFile: opts.SSHKey,
			Passphrase: func() ([]byte, error) {
				// Asking for it here would mix a prompt into the run's
				// output; the agent is the place for an encrypted key.
				return nil, fmt.Errorf("%s is encrypted: add it to ssh-agent (ssh-add %s) and run again", opts.SSHKey, opts.SSHKey)
			}})
	}
	src, err := dial(opts.SourceSSH, sourceIP)
	if err != nil {
		return fmt.Errorf("the source app server: %w", err)
	}
	var tgt *remote.Client
	if opts.TargetSSH != "" {
		tgt, err = dial(opts.TargetSSH, "")
	} else {
		// A server cosocial made: its host key and login key are the
		// stack's, no known_hosts needed.
		tgt, err = remote.DialServer(ctx, both.TargetServerLogin(server))
	}
	if err != nil {
		src.Close()
		return fmt.Errorf("the target app server: %w", err)
	}
	r.Source, r.Target = src, tgt
	r.HealthURL, r.HTTP = opts.HealthURL, http.DefaultClient
	if r.HealthURL == "" {
		domain := ""
		for _, s := range both.Description.Services {
			if s.Server.Name == server {
				domain = s.Domain
			}
		}
		r.HealthURL = "https://" + domain
		r.HTTP = reachAt(targetIP)
	}
	if u, err := url.Parse(r.HealthURL); err != nil || u.Host == "" {
		return exit.FlagErrorf("--health-url must be a URL like https://example.ca, not %q", r.HealthURL)
	}
	r.DNS = &migrate.RecordSwitch{Cloud: both.Cloud, Hosts: migrate.Hosts(both.Migration.Source), SourceIPv4: sourceIP, TargetIPv4: targetIP,
		SourceIPv6: both.Stock.Facts.Servers[server].IPv6, TargetIPv6: both.TargetServerIPv6(server)}
	return nil
}

// reachAt is an HTTP client that reaches every host at one address: the
// target server, before the DNS says so. TLS still checks the host's name.
func reachAt(ip string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// sshAddr is where and as whom a server is reached.
type sshAddr struct {
	user, host string
	port       int
}

// parseSSH reads [user@]host[:port], the way ssh's own destinations read:
// the source droplet may want root and the target its image's user.
func parseSSH(s, defaultUser string) (sshAddr, error) {
	a := sshAddr{user: defaultUser, port: 22}
	if u, rest, ok := strings.Cut(s, "@"); ok {
		if u == "" {
			return a, exit.FlagErrorf("%q: the user before @ is empty", s)
		}
		a.user, s = u, rest
	}
	a.host = s
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return a, exit.FlagErrorf("%q: the port must be a number from 1 to 65535", s)
		}
		a.host, a.port = h, port
	} else if strings.Count(s, ":") == 1 {
		return a, exit.FlagErrorf("%q is not [user@]host[:port]", s)
	}
	if a.host == "" {
		return a, exit.FlagErrorf("%q names no host", s)
	}
	return a, nil
}
