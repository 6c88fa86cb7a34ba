// Package initcmd is `cosocial init`: writes a starter description for a
// new co-op, and never overwrites one.
package initcmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/views"
	"github.com/cosocial/cosocial/templates"
)

// Options are init's dependencies and flags.
type Options struct {
	IO      *iostreams.IOStreams
	Path    func() string
	Catalog func() *catalog.Catalog

	Domain   string
	Name     string
	ID       string
	Provider string
	Members  int
	Project  string
	Cloud    string
}

// NewCmdInit builds the command; runF replaces the run function in tests.
func NewCmdInit(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Path: func() string { return f.File }, Catalog: f.Catalog}
	starters := starterKinds()
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter description for a new co-op",
		Long: `Write a starter description: the co-op, a residency policy keeping data in
Canada with Canadian-owned providers, one server, a PostgreSQL database, a
media bucket and a Mastodon service. It refuses to overwrite a file that
exists.

--provider ovh starts on OVHcloud in Beauharnois (managed PostgreSQL; French
parent, so the ownership rule warns); --provider openstack starts on
VEXXHOST in Montreal (Canadian-owned; the tool runs PostgreSQL itself).`,
		Example: `  cosocial init --domain northwind.example.ca --name "Northwind Social Co-operative"
  cosocial init -f stacks/northwind/cosocial.hcl --provider openstack`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if k, ok := providers.Lookup(opts.Provider); !ok || k.Starter == "" {
				return exit.FlagErrorf("--provider must be %s, not %q", strings.Join(starters, " or "), opts.Provider)
			}
			if runF != nil {
				return runF(opts)
			}
			return initRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Domain, "domain", "social.example.ca", "the co-op's domain, where Mastodon answers")
	cmd.Flags().StringVar(&opts.Name, "name", "", "the co-op's full name (default: from the domain)")
	cmd.Flags().StringVar(&opts.ID, "id", "", "a short name for the co-op (default: the domain's first label)")
	cmd.Flags().StringVar(&opts.Provider, "provider", "ovh", "where to start: "+strings.Join(starters, " or "))
	cmd.Flags().IntVar(&opts.Members, "members", 25, "how many members the co-op has")
	cmd.Flags().StringVar(&opts.Project, "project", "", "OVHcloud Public Cloud project ID (default: the co-op's short name)")
	cmd.Flags().StringVar(&opts.Cloud, "cloud", "vexxhost", "OpenStack: the clouds.yaml entry holding the credentials")
	return cmd
}

// starterKinds are the kinds init can start a description at.
func starterKinds() []string {
	var out []string
	for _, k := range providers.All() {
		if k.Starter != "" {
			out = append(out, k.Name)
		}
	}
	return out
}

var nonName = regexp.MustCompile(`[^a-z0-9_-]+`)

func initRun(opts *Options) error {
	path := opts.Path()
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		path = filepath.Join(path, factory.DefaultFile)
	}
	domain := strings.ToLower(strings.TrimSpace(opts.Domain))
	id := opts.ID
	if id == "" {
		id = nonName.ReplaceAllString(strings.SplitN(domain, ".", 2)[0], "-")
		if id == "" || !('a' <= id[0] && id[0] <= 'z') {
			id = "coop-" + id
		}
	}
	name := opts.Name
	if name == "" {
		name = strings.ToUpper(id[:1]) + id[1:] + " Co-operative"
	}
	project := opts.Project
	if project == "" {
		project = id
	}
	k, _ := providers.Lookup(opts.Provider)
	// The board's rule is enforced where the starter's cloud is
	// Canadian-owned, and only reported where it is not.
	onViolation := "warn"
	if ck := providers.CatalogKind(opts.Catalog(), k.Name); len(ck.Operators) > 0 && ck.Operators[0].Owner.Country == "CA" {
		onViolation = "error"
	}
	tmpl, err := template.ParseFS(templates.FS, "description/starter.hcl.tmpl", "description/starter/"+k.Starter)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, map[string]any{
		"ID": id, "Name": escape(name), "Domain": domain, "Members": opts.Members,
		"Provider": opts.Provider, "Project": escape(project), "Cloud": escape(opts.Cloud),
		"OnViolation": onViolation,
	})
	if err != nil {
		return err
	}
	out, _ := config.Format(path, buf.Bytes())

	// The starter must be valid as written: check it before it exists, so a
	// bad --domain is refused rather than written.
	if res := config.LoadBytes(path, out); res.Diagnostics.HasErrors() {
		views.Diagnostics(opts.IO.ErrOut, res.Diagnostics, res.Files, opts.IO.ErrColorScheme())
		fmt.Fprintln(opts.IO.ErrOut, "Nothing was written: correct the flags above and run init again.")
		return exit.ErrSilent
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: init never overwrites a description. Edit it, or choose another file with -f", path)
	}
	if err != nil {
		return err
	}
	if _, err := fh.Write(out); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	cs := opts.IO.ColorScheme()
	fmt.Fprintf(opts.IO.Out, "%s Wrote %s for %s (%s).\n", cs.Green("✓"), path, name, domain)
	fmt.Fprintln(opts.IO.Out, "Next: edit the sizes and names, then run `cosocial validate` and `cosocial residency`.")
	return nil
}

// escape keeps a flag's value inside an HCL string literal.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{", "\n", " ")
	return r.Replace(s)
}
