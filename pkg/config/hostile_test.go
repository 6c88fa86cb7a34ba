package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/views"
)

// hostile are inputs that crashed, flooded or hung validate before the
// screen in front of the parser: each now gives one error at its place.
var hostile = []struct {
	name    string
	src     func() []byte
	summary string
	line    int
}{
	{"nested brackets", func() []byte { return []byte("coop \"x\" {\n  name = " + strings.Repeat("[", 120_000) + "\n}\n") }, "Nested too deeply", 2},
	{"nested interpolations", func() []byte {
		return []byte("coop \"x\" {\n  name = \"" + strings.Repeat("${\"", 1000) + "\"\n}\n")
	}, "Nested too deeply", 2},
	{"binary", func() []byte {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i*131 + i/7)
		}
		return append([]byte("coop \"x\" {\n"), b...)
	}, "Not a text file", 2},
	{"invalid UTF-8", func() []byte { return []byte("coop \"x\" {\n  name = \"caf\xe9\"\n}\n") }, "Not a text file", 2},
	{"too large", func() []byte {
		return bytes.Repeat([]byte("# padding to make the file large\n"), config.MaxFileBytes/32+2)
	}, "Description file too large", 1},
}

func TestHostileInputGivesOneError(t *testing.T) {
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			res := config.LoadBytes("hostile.hcl", tc.src())
			if len(res.Diagnostics) != 1 || res.Diagnostics[0].Summary != tc.summary {
				t.Fatalf("want one %q, got %d diagnostics: %v", tc.summary, len(res.Diagnostics), first(res.Diagnostics))
			}
			if s := res.Diagnostics[0].Subject; s == nil || s.Filename != "hostile.hcl" || s.Start.Line != tc.line {
				t.Errorf("at %v, want hostile.hcl line %d", s, tc.line)
			}
		})
	}
}

func first(d hcl.Diagnostics) string {
	if len(d) == 0 {
		return "none"
	}
	return d[0].Summary + ": " + d[0].Detail
}

// TestDeepButFairNestingIsParsed: the screen counts what HCL nests, not
// brackets inside strings, comments or heredocs, and leaves a real
// description's depth alone.
func TestDeepButFairNestingIsParsed(t *testing.T) {
	deep := strings.Repeat("[", 30) + strings.Repeat("]", 30)
	src := "coop \"x\" {\n  name   = \"" + strings.Repeat("[{(", 100) + " $${ %%{ \"\n  # " + strings.Repeat("[", 200) + "\n  domain = \"x.example.ca\"\n}\n" +
		"/* " + strings.Repeat("{", 200) + " */\n" +
		"locals_like = <<EOT\n" + strings.Repeat("[", 200) + "\nEOT\n" + "depth = " + deep + "\n"
	res := config.LoadBytes("fair.hcl", []byte(src))
	for _, d := range res.Diagnostics {
		if d.Summary == "Nested too deeply" || d.Summary == "Not a text file" {
			t.Errorf("a fair file was screened out: %s", d.Detail)
		}
	}
}

// TestControlBytesAreNotEchoed: ESC and BEL from a file reach the screen
// escaped, in the source line and in the messages.
func TestControlBytesAreNotEchoed(t *testing.T) {
	src := "coop \"x\" {\n  name = \"a\x1b[2J\x07\"\n  domian\x1b]0;pwned\x07 = 1\n}\n"
	res := config.LoadBytes("ctl.hcl", []byte(src))
	if !res.Diagnostics.HasErrors() {
		t.Fatal("no error")
	}
	var out bytes.Buffer
	views.Diagnostics(&out, res.Diagnostics, res.Files, &iostreams.ColorScheme{})
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07") {
		t.Errorf("control bytes reached the output:\n%q", out.String())
	}
	if !strings.Contains(out.String(), `\x1b`) {
		t.Errorf("the escaped byte is not shown:\n%s", out.String())
	}
}

// TestErrorsAreCappedForPeople: thousands of errors print the first
// views.MaxShown and a count, not megabytes.
func TestErrorsAreCappedForPeople(t *testing.T) {
	var src strings.Builder
	src.WriteString("coop \"x\" {\n  name = \"X\"\n  domain = \"x.example.ca\"\n}\n")
	for i := range 5000 {
		src.WriteString("server \"s" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "\" {\n  provider = provider.nowhere\n}\n")
	}
	res := config.LoadBytes("many.hcl", []byte(src.String()))
	if n := len(res.Diagnostics); n < 5000 {
		t.Fatalf("%d diagnostics, want one per server at least", n)
	}
	var out bytes.Buffer
	views.Diagnostics(&out, res.Diagnostics, res.Files, &iostreams.ColorScheme{})
	if got := strings.Count(out.String(), "Error: "); got != views.MaxShown {
		t.Errorf("%d errors shown, want %d", got, views.MaxShown)
	}
	if !strings.Contains(out.String(), "more not shown") || out.Len() > 64<<10 {
		t.Errorf("%d bytes printed, ending:\n%s", out.Len(), out.String()[max(0, out.Len()-300):])
	}
}

// TestBrokenLinksInAFolderAreErrors: a dangling or looping .hcl link is
// an error naming it, not a file silently left out.
func TestBrokenLinksInAFolderAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(dir string) error
	}{
		{"dangling", func(dir string) error { return os.Symlink(filepath.Join(dir, "gone.hcl"), filepath.Join(dir, "b.hcl")) }},
		{"looping", func(dir string) error {
			if err := os.Symlink(filepath.Join(dir, "c.hcl"), filepath.Join(dir, "b.hcl")); err != nil {
				return err
			}
			return os.Symlink(filepath.Join(dir, "b.hcl"), filepath.Join(dir, "c.hcl"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "a.hcl"), []byte("coop \"x\" {\n  name = \"X\"\n  domain = \"x.example.ca\"\n}\n"), 0o644)
			if err := tc.make(dir); err != nil {
				t.Fatal(err)
			}
			res := config.Load(dir)
			if !res.Diagnostics.HasErrors() || res.Diagnostics[0].Summary != "Broken description file" || !strings.Contains(res.Diagnostics[0].Detail, "b.hcl") {
				t.Errorf("want a broken-file error naming b.hcl, got %v", first(res.Diagnostics))
			}
		})
	}
}
