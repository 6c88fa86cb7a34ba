package residency

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/internal/golden"
	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/views"
)

func TestFormatFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		err  bool
	}{
		{nil, "table", false},
		{[]string{"--format", "markdown"}, "markdown", false},
		{[]string{"--format", "json"}, "json", false},
		{[]string{"--format", "html"}, "", true},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdResidency(&factory.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		_, err := cmd.ExecuteC()
		var flagErr *exit.FlagError
		if tc.err {
			if !errors.As(err, &flagErr) {
				t.Errorf("%v: want a flag error, got %v", tc.args, err)
			}
			continue
		}
		if err != nil || got.Format != tc.want {
			t.Errorf("%v: format = %v, err = %v", tc.args, got, err)
		}
	}
}

func run(t *testing.T, path, format string) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	err := residencyRun(&Options{
		IO:      ios,
		Load:    func() *config.Result { return config.Load(path) },
		Catalog: catalog.Default,
		Now:     func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) },
		Format:  format,
	})
	return out.String(), errOut.String(), err
}

func TestReports(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		compliant  bool
	}{
		{"today", "../../../stacks/cosocial/cosocial-today.hcl", false},
		{"target", "../../../stacks/cosocial/cosocial-target.hcl", true},
		{"starter", "../../../stacks/starter/cosocial.hcl", false},
	} {
		for _, format := range Formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				out, _, err := run(t, tc.path, format)
				if tc.compliant != (err == nil) {
					t.Fatalf("compliant = %v but err = %v", tc.compliant, err)
				}
				golden.Assert(t, tc.name+"."+map[string]string{"table": "txt", "markdown": "md", "json": "json"}[format], []byte(out))
			})
		}
	}
}

func TestJSONReportHasOneRowPerResourceAndTheState(t *testing.T) {
	out, _, _ := run(t, "../../../stacks/cosocial/cosocial-target.hcl", "json")
	var doc views.ResidencyJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != "1.0" || len(doc.Rows) != 9 || !doc.Compliant {
		t.Fatalf("doc: version %q, %d rows, compliant %v", doc.FormatVersion, len(doc.Rows), doc.Compliant)
	}
	last := doc.Rows[len(doc.Rows)-1]
	if last.Kind != "state" || last.Operator != "VEXXHOST" {
		t.Errorf("last row = %+v, want the s3 state at VEXXHOST", last)
	}
	for _, r := range doc.Rows {
		if r.Kind == "state" {
			continue
		}
		if r.Owner == "" || r.OwnerCountry == "" || r.Region == "" || r.City == "" || r.Country != "CA" || r.OwnerSource == "" {
			t.Errorf("row %s lacks facts: %+v", r.Address(), r)
		}
	}
}

func TestMarkdownIsForumReady(t *testing.T) {
	out, _, _ := run(t, "../../../stacks/cosocial/cosocial-target.hcl", "markdown")
	for _, want := range []string{
		"## Where CoSocial Community Co-operative keeps its data",
		"**Result: compliant, with 2 waivers in force.**",
		"| `database.main` | OVHcloud | OVH Groupe SA (FR) | BHS5 | Beauharnois, Canada | ✅ pass | ⚠️ waived | managed-databases (until 2027-06-30) |",
		"- **dns** (ownership rule) for dns.cosocial, until 2027-01-31: The zone moves with the .ca registrar transfer.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestLanguageErrorsStopTheReport(t *testing.T) {
	out, stderr, err := run(t, "../validate/testdata/typo.hcl", "table")
	if !errors.Is(err, exit.ErrSilent) || out != "" || !strings.Contains(stderr, "Unsupported argument") {
		t.Fatalf("err = %v, stdout = %q, stderr = %q", err, out, stderr)
	}
}
