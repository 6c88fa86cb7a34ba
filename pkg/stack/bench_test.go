package stack_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
	"github.com/cosocial/cosocial/pkg/stack"
	"github.com/cosocial/cosocial/pkg/stack/stacktest"
	"github.com/cosocial/cosocial/pkg/views"
)

// generate writes an OVHcloud description of about n resources: 40%
// servers, 20% buckets, 20% Mastodon services (each with an A and an AAAA
// record) sharing one database.
func generate(n int) string {
	var b strings.Builder
	b.WriteString(`coop "gen" {
  name   = "Generated"
  domain = "gen.example.ca"
}
policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  on_violation = "warn"
}
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "gen"
  region   = "BHS5"
}
dns "zone" {
  provider = provider.bhs
  zone     = "gen.example.ca"
}
database "main" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "business"
  flavor   = "db1-15"
  disk_gb  = 160
}
`)
	servers, buckets, services := n*2/5, n/5, n/5
	for i := 0; i < servers; i++ {
		fmt.Fprintf(&b, "server \"s%d\" {\n  provider = provider.bhs\n  flavor   = \"b3-8\"\n  image    = \"Debian 12\"\n}\n", i)
	}
	for i := 0; i < buckets; i++ {
		fmt.Fprintf(&b, "bucket \"b%d\" {\n  provider = provider.bhs\n  public   = true\n}\n", i)
	}
	for i := 0; i < services; i++ {
		fmt.Fprintf(&b, "service \"mastodon\" \"m%d\" {\n  domain     = \"m%d.gen.example.ca\"\n  version    = \"4.3.2\"\n  server     = server.s%d\n  database   = database.main\n  media      = bucket.b%d\n  media_host = \"media-m%d.gen.example.ca\"\n  dns        = dns.zone\n}\n", i, i, i, i%buckets, i)
	}
	return b.String()
}

// syntheticPlan is a plan of n changes, as the engine's events make it.
func syntheticPlan(n int) *stack.Plan {
	p := &stack.Plan{}
	for i := 0; i < n; i++ {
		p.Changes = append(p.Changes, &stack.Change{Address: fmt.Sprintf("server.s%d", i), Type: "cosocial:ovh:Instance", Action: stack.ActionUpdate,
			Properties: []stack.PropertyChange{{Name: "flavor", Action: "update", Before: `"b3-8"`, After: `"b3-16"`}}})
	}
	return p
}

// BenchmarkToolWork is the tool's own work around the engine for one
// plan: judging the description, running the program (under Pulumi's
// mocks, so the engine's share is not counted) and rendering the plan.
// Compare resources=250 with resources=500: the cost should double, and
// stay well under a second.
func BenchmarkToolWork(b *testing.B) {
	starter, err := os.ReadFile("../../stacks/starter/cosocial.hcl")
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog.Default()
	for _, tc := range []struct {
		name string
		src  string
		n    int
	}{{"starter", string(starter), 3}, {"resources=250", generate(250), 250}, {"resources=500", generate(500), 500}} {
		b.Run(tc.name, func(b *testing.B) {
			res := config.LoadBytes("cosocial.hcl", []byte(tc.src))
			if res.Diagnostics.HasErrors() {
				b.Fatal(res.Diagnostics)
			}
			plan := syntheticPlan(tc.n)
			cs := (&iostreams.IOStreams{}).ColorScheme()
			b.ReportAllocs()
			for b.Loop() {
				desc := config.LoadBytes("cosocial.hcl", []byte(tc.src)).Description
				judged := policy.Check(desc, cat, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
				m := &mocks{regs: map[string]pulumi.MockResourceArgs{}}
				if err := pulumi.RunErr(stack.Program(desc, stack.ProgramOptions{}), pulumi.WithMocks("cosocial-gen", "production", m)); err != nil {
					b.Fatal(err)
				}
				views.Plan(io.Discard, views.PlanHeader{Description: "cosocial.hcl", Stack: "production"}, plan, judged.Residency, cs)
			}
		})
	}
}

// pluginPeakRSS samples the resident memory of every process running as
// pulumi-resource-cosocial until stop is closed, and returns the peak in MB.
func pluginPeakRSS(stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		peak := 0.0
		for {
			dirs, _ := filepath.Glob("/proc/[0-9]*")
			for _, d := range dirs {
				cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
				if err != nil || !bytes.Contains(bytes.SplitN(cmd, []byte{0}, 2)[0], []byte("pulumi-resource-cosocial")) {
					continue
				}
				f, err := os.Open(filepath.Join(d, "status"))
				if err != nil {
					continue
				}
				sc := bufio.NewScanner(f)
				for sc.Scan() {
					if fields := strings.Fields(sc.Text()); len(fields) >= 2 && (fields[0] == "VmRSS:" || fields[0] == "VmHWM:") {
						if kb, err := strconv.ParseFloat(fields[1], 64); err == nil && kb/1024 > peak {
							peak = kb / 1024
						}
					}
				}
				f.Close()
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return out
}

// BenchmarkEngine stands the generated 500-resource description up on the
// sandbox through the real engine, then measures a no-change plan the way
// `cosocial plan` makes it (judge, open the stack, preview, render)
// against the engine's preview alone, and reports the ratio and the
// plugin's peak memory, through the pinned engine.
func BenchmarkEngine(b *testing.B) {
	engine := stacktest.Engine(b)
	ctx := context.Background()
	dir := pgserver.TempDir(b)
	sb := sandboxtest.Start(b, sandbox.Options{Dir: filepath.Join(dir, "sandbox"), Projects: []string{"gen"}, Zones: []string{"gen.example.ca"}})
	env := sb.Env()
	src := generate(500)
	exe, _ := os.Executable()
	cat := catalog.Default()
	open := func() (*stack.Stack, *policy.Result) {
		res := config.LoadBytes("cosocial.hcl", []byte(src))
		judged := policy.Check(res.Description, cat, time.Now())
		st, err := stack.Open(ctx, stack.Options{Description: res.Description, Stack: "bench", Dir: filepath.Join(dir, "stack"), Passphrase: "bench",
			Engine: engine, PluginBinary: exe, Env: env, Program: stack.ProgramOptions{Endpoints: map[string]string{"bhs": sb.OVHEndpoint()}}})
		if err != nil {
			b.Fatal(err)
		}
		return st, judged
	}
	st, _ := open()
	stop := make(chan struct{})
	peak := pluginPeakRSS(stop)
	start := time.Now()
	up, err := st.Up(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	close(stop)
	// b.Loop starts the measurement afresh: the stand-up's figures are
	// reported after it.
	peakMB, upSeconds, created := <-peak, time.Since(start).Seconds(), float64(up.Counts()[stack.ActionCreate])

	var tool, engineOnly time.Duration
	for b.Loop() {
		t0 := time.Now()
		st, judged := open()
		plan, err := st.Preview(ctx, nil)
		if err != nil || plan.HasChanges() {
			b.Fatalf("no-change plan: %v %v", err, plan.HasChanges())
		}
		views.Plan(io.Discard, views.PlanHeader{}, plan, judged.Residency, (&iostreams.IOStreams{}).ColorScheme())
		tool += time.Since(t0)
		t1 := time.Now()
		if _, err := st.Preview(ctx, nil); err != nil {
			b.Fatal(err)
		}
		engineOnly += time.Since(t1)
	}
	b.ReportMetric(tool.Seconds()/float64(b.N), "plan-s")
	b.ReportMetric(engineOnly.Seconds()/float64(b.N), "preview-s")
	b.ReportMetric(tool.Seconds()/engineOnly.Seconds(), "plan/preview")
	b.ReportMetric(peakMB, "plugin-peak-MB")
	b.ReportMetric(upSeconds, "up-s")
	b.ReportMetric(created, "created")
}
