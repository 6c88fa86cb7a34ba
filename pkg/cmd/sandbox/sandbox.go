// Package sandbox is `cosocial sandbox`: serves the built-in provider
// simulators, with their real database and S3 servers, for other tools
// and for rehearsals, until interrupted.
package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/model"
	sb "github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
)

// Options are sandbox's dependencies and flags.
type Options struct {
	IO   *iostreams.IOStreams
	Load func() *config.Result
	File func() string
	Ctx  context.Context
	// Start starts the sandbox (the factory's StartSandbox).
	Start func(ctx context.Context, desc *model.Description, adjust func(*sb.Options)) (*sb.Sandbox, error)

	Dir       string
	Projects  []string
	Zones     []string
	FaultRate float64
	Burst     int
}

// NewCmdSandbox builds the command; runF replaces the run function in tests.
func NewCmdSandbox(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Load: f.Description, File: func() string { return f.File }, Start: f.StartSandbox}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve the built-in provider simulators for other tools",
		Long: `Serve the OVHcloud API simulator on loopback, with real PostgreSQL clusters
behind its managed databases and a real S3 server behind its buckets, until
Ctrl-C. The projects and DNS zones of the description (-f), if there is one,
exist in it. Credentials for go-ovh are written to an env file beside the
sandbox's data, never printed.

The same simulators serve plan, up, refresh, drift and destroy when they
are given --sandbox.`,
		Example: `  cosocial sandbox -f stacks/starter/cosocial.hcl
  cosocial sandbox --project demo --zone demo.example.ca --fault-rate 0.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return sandboxRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "where the sandbox keeps its data (default: per description, under the user's state folder)")
	cmd.Flags().StringSliceVar(&opts.Projects, "project", nil, "an OVHcloud project that exists (repeatable)")
	cmd.Flags().StringSliceVar(&opts.Zones, "zone", nil, "a DNS zone that exists (repeatable)")
	cmd.Flags().Float64Var(&opts.FaultRate, "fault-rate", 0, "answer this share of requests with 429, 500 or 503")
	cmd.Flags().IntVar(&opts.Burst, "burst", 0, "answer this many requests with 429 first")
	return cmd
}

func sandboxRun(opts *Options) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var desc *model.Description
	if _, err := os.Stat(opts.File()); err == nil {
		if res := opts.Load(); !res.Diagnostics.HasErrors() {
			desc = res.Description
		}
	}
	var sopts sb.Options
	s, err := opts.Start(ctx, desc, func(o *sb.Options) {
		if opts.Dir != "" {
			o.Dir = opts.Dir
		}
		o.Projects = append(o.Projects, opts.Projects...)
		o.Zones = append(o.Zones, opts.Zones...)
		o.Faults = ovhsim.Faults{Rate: opts.FaultRate, Burst: opts.Burst, Codes: []int{429, 500, 503}, Seed: 1}
		sopts = *o
	})
	if err != nil {
		return err
	}
	defer s.Close()
	envFile := filepath.Join(sopts.Dir, "env")
	env := s.Env()
	env["OVH_ENDPOINT"] = s.OVHEndpoint()
	// A provider naming a clouds.yaml entry finds it in the sandbox's own
	// clouds.yaml, which the env file points at.
	if desc != nil {
		if err := factory.PrepareSandbox(desc, sopts.Dir, env); err != nil {
			return err
		}
	}
	var lines []string
	for k, v := range env {
		lines = append(lines, k+"="+v)
	}
	sort.Strings(lines)
	if err := os.WriteFile(envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	cs := opts.IO.ColorScheme()
	out := opts.IO.Out
	fmt.Fprintf(out, "%s The sandbox is serving (Ctrl-C stops it; its data stays for next time):\n\n", cs.Green("✓"))
	fmt.Fprintf(out, "  OVHcloud API  %s\n", s.OVHEndpoint())
	if len(sopts.Projects) > 0 {
		fmt.Fprintf(out, "    projects    %s\n", strings.Join(sopts.Projects, ", "))
	}
	if len(sopts.Zones) > 0 {
		fmt.Fprintf(out, "    DNS zones   %s\n", strings.Join(sopts.Zones, ", "))
	}
	fmt.Fprintf(out, "  DigitalOcean  %s\n", s.DOEndpoint())
	fmt.Fprintf(out, "  OpenStack     %s (%s)\n", s.OSAuthURL(), s.OS.Region())
	if path := env["OS_CLIENT_CONFIG_FILE"]; path != "" {
		fmt.Fprintf(out, "    clouds.yaml %s\n", path)
	}
	fmt.Fprintf(out, "  S3            %s (OVHcloud)\n", s.S3Endpoint())
	fmt.Fprintf(out, "  S3            %s (OpenStack: Ceph's gateway, for the EC2 credentials)\n", s.OSS3Endpoint())
	fmt.Fprintf(out, "  Spaces        %s (DigitalOcean)\n", s.SpacesEndpoint())
	if cfg := env["COSOCIAL_SSH_CONFIG"]; cfg != "" {
		fmt.Fprintf(out, "  servers       ssh -F %s <a server's ipv4> (each a machine on its own loopback address; the file says which)\n", cfg)
	}
	fmt.Fprintf(out, "  credentials   %s (mode 0600): set -a; . %s; set +a\n", envFile, envFile)
	fmt.Fprintf(out, "  request logs  %s, %s, %s\n", filepath.Join(sopts.Dir, "ovh-requests.log"), filepath.Join(sopts.Dir, "digitalocean-requests.log"), filepath.Join(sopts.Dir, "openstack-requests.log"))
	<-ctx.Done()
	fmt.Fprintln(out, "\nStopping the sandbox.")
	return nil
}
