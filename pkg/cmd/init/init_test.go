package initcmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
)

func run(t *testing.T, opts Options) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	opts.IO = ios
	opts.Catalog = catalog.Default
	if opts.Provider == "" {
		opts.Provider = "ovh"
	}
	if opts.Domain == "" {
		opts.Domain = "northwind.example.ca"
	}
	if opts.Cloud == "" {
		opts.Cloud = "vexxhost"
	}
	err := initRun(&opts)
	return out.String(), errOut.String(), err
}

func TestStarterValidates(t *testing.T) {
	for _, provider := range []string{"ovh", "openstack"} {
		t.Run(provider, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cosocial.hcl")
			out, stderr, err := run(t, Options{Path: func() string { return path }, Provider: provider, Name: `The "Quoted" Co-op`, Members: 40})
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(out, "Wrote "+path) {
				t.Errorf("stdout = %q", out)
			}
			res := config.Load(path)
			if res.Diagnostics.HasErrors() {
				t.Fatalf("starter does not load: %v", res.Diagnostics)
			}
			judged := policy.Check(res.Description, catalog.Default(), time.Now())
			if judged.Blocked() {
				t.Fatalf("starter is blocked: %v", judged.Diagnostics)
			}
			d := res.Description
			if d.Coop.ID != "northwind" || d.Coop.Name != `The "Quoted" Co-op` || d.Coop.Members != 40 || d.Services[0].MediaHost != "media.northwind.example.ca" {
				t.Errorf("coop = %+v, service = %+v", d.Coop, d.Services[0])
			}
			if provider == "openstack" && !judged.Residency.Compliant {
				t.Errorf("the openstack starter should be compliant: %v", judged.Diagnostics)
			}
		})
	}
}

func TestRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cosocial.hcl")
	if err := os.WriteFile(path, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, Options{Path: func() string { return path }})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "# mine\n" {
		t.Errorf("file was changed to %q", b)
	}
}

func TestFolderGetsCosocialHCL(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, Options{Path: func() string { return dir }}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cosocial.hcl")); err != nil {
		t.Fatal(err)
	}
}

func TestBadDomainWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cosocial.hcl")
	_, stderr, err := run(t, Options{Path: func() string { return path }, Domain: "not a domain"})
	if !errors.Is(err, exit.ErrSilent) || !strings.Contains(stderr, "Nothing was written") {
		t.Fatalf("err = %v, stderr = %s", err, stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a file was written")
	}
}
