package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var binary string

// TestMain builds the real binary once: these tests check what a volunteer
// sees at a shell, exit codes included.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cosocial-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cosocial")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func cosocial(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

const stacks = "../../stacks"

func TestExitCodes(t *testing.T) {
	tmp := t.TempDir()
	messy := filepath.Join(tmp, "messy.hcl")
	if err := os.WriteFile(messy, []byte("coop \"x\" {\nname = \"X\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string // in stdout or stderr
	}{
		{[]string{"validate", "-f", stacks + "/cosocial/cosocial-today.hcl"}, 1, "DigitalOcean Holdings, Inc. is based in the United States"},
		{[]string{"validate", "-f", stacks + "/cosocial/cosocial-target.hcl", "--as-of", "2026-11-22"}, 0, "until 2027-06-30"},
		{[]string{"validate", "-f", stacks + "/cosocial/cosocial-target.hcl", "--as-of", "2027-03-01"}, 1, `Waiver "dns" expired on 2027-01-31`},
		{[]string{"validate", "-f", stacks + "/starter/cosocial.hcl"}, 0, "Provider not Canadian-owned"},
		{[]string{"validate", "-f", stacks + "/cosocial", "--as-of", "2026-11-22"}, 0, "8 resources"},
		{[]string{"residency", "-f", stacks + "/cosocial/cosocial-today.hcl"}, 1, "not compliant"},
		{[]string{"residency", "-f", stacks + "/cosocial/cosocial-target.hcl", "--as-of", "2026-11-22", "--format", "json"}, 0, `"compliant": true`},
		{[]string{"fmt", "--check", "-f", messy}, 3, messy},
		{[]string{"fmt", "--check", "-f", stacks + "/cosocial"}, 0, ""},
		{[]string{"validate", "--nope"}, 1, "unknown flag: --nope"},
		{[]string{"residency", "--format", "pdf"}, 1, "Usage:"},
		{[]string{"frobnicate"}, 1, `unknown command "frobnicate"`},
		{[]string{"validate", "-f", filepath.Join(tmp, "absent.hcl")}, 1, "cosocial init"},
		{[]string{"version"}, 0, "cosocial "},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := cosocial(t, ".", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.want) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tc.want, out, errOut)
			}
		})
	}
}

func TestInitThenValidate(t *testing.T) {
	dir := t.TempDir()
	if out, errOut, code := cosocial(t, dir, "init", "--domain", "lakeside.example.ca"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := cosocial(t, dir, "validate"); code != 0 {
		t.Fatalf("validate of the starter: exit %d\n%s%s", code, out, errOut)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "cosocial.hcl"))
	_, errOut, code := cosocial(t, dir, "init", "--domain", "other.example.ca")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("second init: exit %d, %s", code, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "cosocial.hcl"))
	if !bytes.Equal(before, after) {
		t.Error("second init changed the description")
	}
}

func TestTypoPointsAtTheLine(t *testing.T) {
	dir := t.TempDir()
	src := "coop \"x\" {\n  name   = \"X\"\n  domian = \"x.example.ca\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "cosocial.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := cosocial(t, dir, "validate")
	if code != 1 || !strings.Contains(errOut, "on cosocial.hcl line 3, column 3") || !strings.Contains(errOut, `Did you mean "domain"?`) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	// One message for one typo: no echo about the missing "domain".
	if strings.Contains(errOut, "Missing required argument") {
		t.Errorf("the typo is reported twice:\n%s", errOut)
	}
}

// TestSharedExamples runs the project's reference examples, when the
// checkout sits beside them, exactly as DESIGN.md says they behave.
func TestSharedExamples(t *testing.T) {
	dir := "../../../shared/examples"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("SKIP: no shared examples at %s", dir)
	}
	for _, tc := range []struct {
		file string
		code int
		want string
	}{
		{"cosocial-today.hcl", 1, "server.web uses digitalocean.toronto (DigitalOcean), whose ultimate parent DigitalOcean Holdings, Inc. is based in the United States"},
		{"cosocial-target.hcl", 0, "dns                ownership  dns.cosocial                      until 2027-01-31"},
		{"starter-ovh.hcl", 0, "Warning: Provider not Canadian-owned"},
	} {
		out, errOut, code := cosocial(t, ".", "validate", "-f", filepath.Join(dir, tc.file), "--as-of", "2026-11-22")
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s%s", tc.file, code, tc.code, tc.want, out, errOut)
		}
	}
}
