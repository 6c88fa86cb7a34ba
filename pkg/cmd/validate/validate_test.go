package validate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/shlex"

	"github.com/cosocial/cosocial/internal/golden"
	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) }

func TestNewCmdValidateFlags(t *testing.T) {
	cases := []struct {
		args string
		want Options
		err  string
	}{
		{args: "", want: Options{}},
		{args: "--json", want: Options{JSON: true}},
		{args: "--as-of 2027-02-01", want: Options{AsOf: "2027-02-01"}},
		{args: "extra", err: `unknown command "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.args, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &factory.Factory{IOStreams: ios}
			var got *Options
			cmd := NewCmdValidate(f, func(o *Options) error { got = o; return nil })
			args, _ := shlex.Split(tc.args)
			cmd.SetArgs(args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			_, err := cmd.ExecuteC()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.JSON != tc.want.JSON || got.AsOf != tc.want.AsOf {
				t.Errorf("options = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func run(t *testing.T, path string, mod func(*Options)) (stdout, stderr string, err error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	opts := &Options{
		IO:      ios,
		Load:    func() *config.Result { return config.Load(path) },
		Catalog: catalog.Default,
		Now:     fixedNow,
	}
	if mod != nil {
		mod(opts)
	}
	err = validateRun(opts)
	return out.String(), errOut.String(), err
}

func TestValidateStacks(t *testing.T) {
	cases := []struct {
		name, path string
		valid      bool
	}{
		{"today", "../../../stacks/cosocial/cosocial-today.hcl", false},
		{"target", "../../../stacks/cosocial/cosocial-target.hcl", true},
		{"starter", "../../../stacks/starter/cosocial.hcl", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := run(t, tc.path, nil)
			if tc.valid != (err == nil) {
				t.Fatalf("valid = %v, err = %v\n%s", tc.valid, err, stderr)
			}
			if err != nil && !errors.Is(err, exit.ErrSilent) {
				t.Fatalf("err = %v, want exit.ErrSilent (already reported)", err)
			}
			golden.Assert(t, tc.name+".txt", []byte(stdout+"--- stderr\n"+stderr))

			stdout, _, _ = run(t, tc.path, func(o *Options) { o.JSON = true })
			golden.Assert(t, tc.name+".json", []byte(stdout))
			var doc Output
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Valid != tc.valid || doc.Diagnostics == nil || doc.Waivers == nil || doc.FormatVersion != "1.0" {
				t.Errorf("JSON document = %+v", doc)
			}
		})
	}
}

func TestValidateTodayNamesDigitalOceanForEveryResource(t *testing.T) {
	_, stderr, _ := run(t, "../../../stacks/cosocial/cosocial-today.hcl", nil)
	for _, addr := range []string{"server.web", "database.main", "bucket.media"} {
		if !strings.Contains(stderr, addr+" uses digitalocean.toronto (DigitalOcean), whose ultimate parent DigitalOcean Holdings, Inc. is based in the United States") {
			t.Errorf("stderr does not name DigitalOcean's US ownership for %s", addr)
		}
	}
}

func TestValidateJSONRanges(t *testing.T) {
	stdout, _, err := run(t, "testdata/typo.hcl", func(o *Options) { o.JSON = true })
	if !errors.Is(err, exit.ErrSilent) {
		t.Fatalf("err = %v", err)
	}
	var doc Output
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Valid || doc.ErrorCount != 1 || len(doc.Diagnostics) != 1 {
		t.Fatalf("doc = %+v", doc)
	}
	d := doc.Diagnostics[0]
	if d.Severity != "error" || d.Range == nil || d.Range.Filename != "testdata/typo.hcl" ||
		d.Range.Start.Line != 15 || d.Range.Start.Column != 3 || d.Range.End.Line != 15 || d.Range.End.Column != 10 ||
		!strings.Contains(d.Detail, `Did you mean "flavor"?`) {
		t.Errorf("diagnostic = %+v", d)
	}
}

func TestValidateHumanErrorUnderlinesTheSource(t *testing.T) {
	_, stderr, _ := run(t, "testdata/typo.hcl", nil)
	want := "  on testdata/typo.hcl line 15, column 3, in server \"web\":\n  15:   flavour  = \"b3-8\"\n        ^^^^^^^\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks the underlined source line:\n%s", stderr)
	}
}

func TestValidateAsOf(t *testing.T) {
	_, stderr, err := run(t, "../../../stacks/cosocial/cosocial-target.hcl", func(o *Options) { o.AsOf = "2027-02-01" })
	if err == nil || !strings.Contains(stderr, `Waiver "dns" expired on 2027-01-31`) {
		t.Fatalf("err = %v, stderr:\n%s", err, stderr)
	}
	_, _, err = run(t, "../../../stacks/cosocial/cosocial-target.hcl", func(o *Options) { o.AsOf = "Feb 1" })
	var flagErr *exit.FlagError
	if !errors.As(err, &flagErr) {
		t.Errorf("a bad --as-of is a flag error, got %v", err)
	}
}
