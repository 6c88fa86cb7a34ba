package fmtcmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/iostreams"
)

const messy = `# the co-op
coop "x" {
name = "X"
    domain="x.example.ca" # where it answers
}
`

const tidy = `# the co-op
coop "x" {
  name   = "X"
  domain = "x.example.ca" # where it answers
}
`

func run(t *testing.T, path string, check bool) (string, string, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	err := fmtRun(&Options{IO: ios, Path: func() string { return path }, Check: check})
	return out.String(), errOut.String(), err
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o640); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckReportsAndChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cosocial.hcl")
	write(t, path, messy)
	out, _, err := run(t, path, true)
	var code exit.Code
	if !errors.As(err, &code) || code != ExitWouldReformat {
		t.Fatalf("err = %v, want exit code 3", err)
	}
	if strings.TrimSpace(out) != path {
		t.Errorf("stdout = %q, want the file's name", out)
	}
	if read(t, path) != messy {
		t.Error("--check changed the file")
	}
}

func TestFormatRewritesKeepingComments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cosocial.hcl")
	write(t, path, messy)
	if _, _, err := run(t, path, false); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != tidy {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, tidy)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want the file's own 0640 kept", info.Mode().Perm())
	}
	// Formatted files are left alone, and --check then passes.
	out, _, err := run(t, path, true)
	if err != nil || out != "" {
		t.Errorf("second run: out %q, err %v", out, err)
	}
}

func TestSyntaxErrorWritesNothing(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.hcl")
	write(t, good, messy)
	write(t, bad, "coop \"x\" {\n  name = \"unterminated\n}\n")
	_, stderr, err := run(t, dir, false)
	if !errors.Is(err, exit.ErrSilent) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(stderr, "b.hcl line 2") || !strings.Contains(stderr, "No file was changed.") {
		t.Errorf("stderr = %s", stderr)
	}
	if read(t, good) != messy {
		t.Error("a file was rewritten although another had a syntax error")
	}
}

func TestStacksAreFormatted(t *testing.T) {
	for _, dir := range []string{"../../../stacks/cosocial", "../../../stacks/starter"} {
		out, _, err := run(t, dir, true)
		if err != nil {
			t.Errorf("%s would be reformatted: %s", dir, out)
		}
	}
}

func TestNewCmdFmtUsesTheGlobalFile(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &factory.Factory{IOStreams: ios, File: "elsewhere.hcl"}
	var got *Options
	cmd := NewCmdFmt(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--check"})
	if _, err := cmd.ExecuteC(); err != nil {
		t.Fatal(err)
	}
	if !got.Check || got.Path() != "elsewhere.hcl" {
		t.Errorf("options = %+v, path %q", got, got.Path())
	}
}
