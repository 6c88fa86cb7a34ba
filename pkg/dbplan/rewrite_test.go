package dbplan

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/cosocial/cosocial/pkg/config"
)

func TestRewriteChangesOnlyTheAttribute(t *testing.T) {
	src, err := os.ReadFile(targetHCL)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-made layout the formatter would change must survive too.
	src = bytes.Replace(src, []byte(`  disk_gb  = 160`), []byte(`  disk_gb  = 160     # grew 40 GB in 2025`), 1)
	out, err := Rewrite(src, "cosocial-target.hcl", "main", 320, "db1-30")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Replace(src, []byte(`  disk_gb  = 160     # grew`), []byte(`  disk_gb  = 320     # grew`), 1)
	want = bytes.Replace(want, []byte(`  flavor   = "db1-15"`), []byte(`  flavor   = "db1-30"`), 1)
	if !bytes.Equal(out, want) {
		t.Fatalf("rewrite changed more than the two values:\n%s", diffLines(string(want), string(out)))
	}
	// The other database, also with a disk_gb, is untouched.
	if !bytes.Contains(out, []byte("flavor   = \"db1-4\"")) || bytes.Count(out, []byte("disk_gb  = 20\n")) != 1 {
		t.Fatal("the podcasts database changed")
	}
	res := config.LoadBytes(targetHCL, out)
	if res.Diagnostics.HasErrors() {
		t.Fatalf("the rewritten description does not load: %v", res.Diagnostics)
	}
	for _, db := range res.Description.Databases {
		if db.Name == "main" && (db.DiskGB != 320 || db.Flavor != "db1-30") {
			t.Fatalf("main: %d GB %s", db.DiskGB, db.Flavor)
		}
	}
}

func TestRewriteAddsAMissingDisk(t *testing.T) {
	src := []byte("database \"main\" {\n    engine = \"postgresql\" # four spaces here\n}\n\nserver \"web\" {}\n")
	out, err := Rewrite(src, "x.hcl", "main", 120, "")
	if err != nil {
		t.Fatal(err)
	}
	want := "database \"main\" {\n    engine = \"postgresql\" # four spaces here\n    disk_gb = 120\n}\n\nserver \"web\" {}\n"
	if string(out) != want {
		t.Fatalf("got\n%s", out)
	}
	if _, err := Rewrite(src, "x.hcl", "other", 120, ""); err == nil || !strings.Contains(err.Error(), `no database "other"`) {
		t.Fatalf("unknown database: %v", err)
	}
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out.WriteString("- " + x + "\n+ " + y + "\n")
		}
	}
	return out.String()
}
