// Package config reads a co-op's description: it parses the HCL files,
// decodes them into the typed model, resolves references between blocks and
// reports every problem as a diagnostic with its exact source range. It
// never judges the description against the residency policy or a provider's
// catalog: that is the policy package's job.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/cosocial/cosocial/pkg/model"
)

// Result is what loading a description gives: the model when it could be
// built, every diagnostic met on the way, and the parsed files so that
// diagnostics can be shown with their source lines.
type Result struct {
	Description *model.Description
	Diagnostics hcl.Diagnostics
	Files       map[string]*hcl.File
}

// Load reads the description at path: a file, or a folder whose *.hcl files
// together form one description, as Terraform reads a module. In a folder, a
// file that a migration block names as its source is the other side of the
// migration, not part of this description, so it is left out.
func Load(path string) *Result {
	return LoadEdited(path, "", nil)
}

// LoadEdited reads the description at path as Load does, except that the
// file named edited (one of its files) is read from src: how a rewrite is
// checked, with every other file of a folder, before it is written.
func LoadEdited(path, edited string, src []byte) *Result {
	p := hclparse.NewParser()
	res := &Result{}
	files, folder, diags := readPath(p, path, edited, src)
	res.Diagnostics = diags
	if !diags.HasErrors() {
		res.Description, res.Diagnostics = decodeFiles(p, files, folder, true)
	}
	res.Files = p.Files()
	return res
}

// LoadBytes reads a description held in memory, as if it were the file name.
// A migration's source is still read from disk, relative to name.
func LoadBytes(name string, src []byte) *Result {
	p := hclparse.NewParser()
	res := &Result{}
	if diags := screen(name, src); diags.HasErrors() {
		res.Diagnostics, res.Files = diags, p.Files()
		return res
	}
	f, diags := p.ParseHCL(src, name)
	if diags.HasErrors() {
		res.Diagnostics = diags
	} else {
		var more hcl.Diagnostics
		res.Description, more = decodeFiles(p, []parsed{{name, f}}, "", true)
		res.Diagnostics = append(diags, more...)
		SortDiagnostics(res.Diagnostics, []string{name})
	}
	res.Files = p.Files()
	return res
}

// parsed is a file of the description with the name it was read under
// (hcl.File does not keep its own name).
type parsed struct {
	name string
	file *hcl.File
}

func readPath(p *hclparse.Parser, path, edited string, src []byte) ([]parsed, string, hcl.Diagnostics) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No description found",
			Detail:   fmt.Sprintf("There is no file or folder at %s. Write a starter description with `cosocial init`, or point -f at an existing one.", path),
		}}
	}
	names := []string{path}
	folder := ""
	if !info.IsDir() && !info.Mode().IsRegular() {
		// A device or a pipe could be endless: a description is a file.
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Not a description file",
			Detail:   fmt.Sprintf("%s is not a regular file or a folder.", path),
		}}
	}
	if info.IsDir() {
		folder = path
		var broken hcl.Diagnostics
		names, broken, err = hclFiles(path)
		if err != nil {
			return nil, "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read folder", Detail: err.Error()}}
		}
		if len(broken) > 0 {
			return nil, "", broken
		}
		if len(names) == 0 {
			return nil, "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "No description found",
				Detail:   fmt.Sprintf("The folder %s holds no .hcl files.", path),
			}}
		}
	}
	var files []parsed
	var diags hcl.Diagnostics
	for _, n := range names {
		var text []byte
		var d hcl.Diagnostics
		if edited != "" && filepath.Clean(n) == filepath.Clean(edited) {
			text, d = src, screen(n, src)
		} else {
			text, d = ReadSource(n)
		}
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		f, d := p.ParseHCL(text, n)
		diags = append(diags, d...)
		if f != nil {
			files = append(files, parsed{n, f})
		}
	}
	SortDiagnostics(diags, names)
	return files, folder, diags
}

// hclFiles lists a folder's description files in name order; editor backups
// and hidden files are not part of a description.
func hclFiles(dir string) (names []string, broken hcl.Diagnostics, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || filepath.Ext(n) != ".hcl" {
			continue
		}
		// Stat follows symbolic links: a linked description file counts, a
		// folder or a device named *.hcl does not. A link that leads
		// nowhere, or in a loop, is an error: skipping it would validate
		// a description with a file missing.
		p := filepath.Join(dir, n)
		info, err := os.Stat(p)
		if err != nil {
			broken = append(broken, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Broken description file",
				Detail:   fmt.Sprintf("%s cannot be read (%v). If it is a symbolic link, it leads nowhere or in a loop: point it at a description file, or remove it.", p, err),
			})
			continue
		}
		if !info.Mode().IsRegular() {
			continue
		}
		names = append(names, p)
	}
	sort.Strings(names)
	return names, broken, nil
}

// topBlocks is the first pass over a file: its top-level blocks.
type topBlocks struct {
	name   string
	blocks hcl.Blocks
}

func decodeFiles(p *hclparse.Parser, files []parsed, folder string, followMigration bool) (*model.Description, hcl.Diagnostics) {
	d := &decoder{}
	var tops []topBlocks
	for _, f := range files {
		c, diags := f.file.Body.Content(topSchema)
		d.diags = append(d.diags, diags...)
		tops = append(tops, topBlocks{name: f.name, blocks: c.Blocks})
	}
	if folder != "" {
		tops = withoutMigrationSources(tops)
	}

	desc := &model.Description{}
	for _, t := range tops {
		desc.Files = append(desc.Files, t.name)
		for _, b := range t.blocks {
			d.block(desc, b)
		}
	}
	if desc.Coop == nil && !d.diags.HasErrors() {
		subject := hcl.Range{}
		if len(files) > 0 {
			subject = hcl.Range{Filename: files[0].name, Start: hcl.InitialPos, End: hcl.InitialPos}
		}
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing coop block",
			Detail:   "A description starts with a coop block naming the co-operative and its domain, for example:\n\n  coop \"northwind\" {\n    name   = \"Northwind Social Co-operative\"\n    domain = \"northwind.example.ca\"\n  }",
			Subject:  subject.Ptr(),
		})
	}

	ix := model.NewIndex(desc)
	d.diags = append(d.diags, duplicates(desc)...)
	d.diags = append(d.diags, resolve(desc, ix)...)
	d.diags = append(d.diags, cycles(desc)...)
	if followMigration && desc.Migration != nil && desc.Migration.SourcePath != "" {
		d.diags = append(d.diags, loadMigrationSource(p, desc.Migration)...)
	}
	order := make([]string, 0, len(files))
	for _, f := range files {
		order = append(order, f.name)
	}
	SortDiagnostics(d.diags, order)
	return desc, d.diags
}

func (d *decoder) block(desc *model.Description, b *hcl.Block) {
	switch b.Type {
	case "coop":
		once(d, &desc.Coop, d.coop(b), b, func(c *model.Coop) model.Source { return c.Src })
	case "policy":
		once(d, &desc.Policy, d.policy(b), b, func(p *model.Policy) model.Source { return p.Src })
	case "state":
		once(d, &desc.State, d.state(b), b, func(s *model.State) model.Source { return s.Src })
	case "migration":
		once(d, &desc.Migration, d.migration(b), b, func(m *model.Migration) model.Source { return m.Src })
	case "provider":
		desc.Providers = append(desc.Providers, d.provider(b))
	case "server":
		desc.Servers = append(desc.Servers, d.server(b))
	case "database":
		desc.Databases = append(desc.Databases, d.database(b))
	case "bucket":
		desc.Buckets = append(desc.Buckets, d.bucket(b))
	case "dns":
		desc.DNS = append(desc.DNS, d.dns(b))
	case "service":
		desc.Services = append(desc.Services, d.service(b))
	}
}

// once keeps the first of the blocks a description may hold only once and
// reports every further one against it.
func once[T any](d *decoder, slot **T, v *T, b *hcl.Block, src func(*T) model.Source) {
	if *slot != nil {
		d.diags = append(d.diags, duplicate(b.Type+" block", "", b.DefRange, src(*slot).Decl))
		return
	}
	*slot = v
}

// withoutMigrationSources drops the files of a folder that a migration block
// of the same folder names as its source.
func withoutMigrationSources(tops []topBlocks) []topBlocks {
	sources := map[string]bool{}
	for _, t := range tops {
		for _, b := range t.blocks {
			if b.Type != "migration" {
				continue
			}
			attrs, _ := b.Body.JustAttributes()
			a := attrs["source"]
			if a == nil {
				continue
			}
			if v, diags := stringValue(a); !diags.HasErrors() {
				sources[absPath(relativeTo(b.DefRange.Filename, v))] = true
			}
		}
	}
	if len(sources) == 0 {
		return tops
	}
	kept := tops[:0:0]
	for _, t := range tops {
		if sources[absPath(t.name)] {
			continue
		}
		kept = append(kept, t)
	}
	return kept
}

func relativeTo(declaringFile, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(declaringFile), path)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// loadMigrationSource reads the description of what runs today. Its
// language errors are real errors (the migration cannot pair what it cannot
// read); its residency is not judged, and its own migration is not followed.
func loadMigrationSource(p *hclparse.Parser, m *model.Migration) hcl.Diagnostics {
	path := relativeTo(m.Src.Decl.Filename, m.SourcePath)
	if absPath(path) == absPath(m.Src.Decl.Filename) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Migration from itself",
			Detail:   "The migration's source is the file that declares it; source names the description of what runs today.",
			Subject:  m.Src.Attr("source"),
		}}
	}
	files, folder, diags := readPath(p, path, "", nil)
	if diags.HasErrors() {
		for _, d := range diags {
			if d.Subject == nil {
				d.Summary = "Cannot read migration source"
				d.Subject = m.Src.Attr("source")
			}
		}
		return diags
	}
	src, more := decodeFiles(p, files, folder, false)
	m.Source = src
	return append(diags, more...)
}

// SortDiagnostics orders diagnostics by file (in load order), then
// position, so that output is stable however they were found.
func SortDiagnostics(diags hcl.Diagnostics, fileOrder []string) {
	rank := make(map[string]int, len(fileOrder))
	for i, f := range fileOrder {
		rank[f] = i + 1
	}
	key := func(d *hcl.Diagnostic) (int, int) {
		if d.Subject == nil {
			return 0, 0
		}
		r, ok := rank[d.Subject.Filename]
		if !ok {
			r = len(fileOrder) + 1
		}
		return r, d.Subject.Start.Byte
	}
	sort.SliceStable(diags, func(i, j int) bool {
		fi, bi := key(diags[i])
		fj, bj := key(diags[j])
		if fi != fj {
			return fi < fj
		}
		return bi < bj
	})
}
