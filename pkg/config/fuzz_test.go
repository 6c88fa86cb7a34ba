package config_test

import (
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// FuzzLoad runs arbitrary bytes through everything validate does with a
// description (parse, decode, references, cycles, domain rules, residency,
// and rendering the diagnostics both ways) and fails on any panic. The
// corpus under testdata/fuzz/FuzzLoad keeps what earlier runs found.
func FuzzLoad(f *testing.F) {
	for _, path := range []string{
		"../../stacks/cosocial/cosocial-today.hcl",
		"../../stacks/cosocial/cosocial-target.hcl",
		"../../stacks/starter/cosocial.hcl",
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("server \"a\" {\n  provider = provider.p\n  depends_on = [server.a]\n}\n"))
	f.Add([]byte("policy \"residency\" {\n  waiver \"w\" {\n    resources = [dns.x]\n    rule = \"ownership\"\n    reason = \"r\"\n    expires = \"2027-01-01\"\n  }\n}\n"))
	f.Add([]byte("coop \"x\" { name = \"é\" domain = 1e400 }"))
	f.Add([]byte("migration \"m\" {\n  source = \"fuzz.hcl\"\n  downtime_budget = \"-5m\"\n}\n"))

	for _, tc := range hostile {
		if src := tc.src(); len(src) <= 1<<20+64 {
			f.Add(src)
		}
	}

	cat := catalog.Default()
	asOf := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cs := &iostreams.ColorScheme{}
	f.Fuzz(func(t *testing.T, src []byte) {
		res := config.LoadBytes("fuzz.hcl", src)
		diags := res.Diagnostics
		if !diags.HasErrors() {
			judged := policy.Check(res.Description, cat, asOf)
			diags = append(diags, judged.Diagnostics...)
			if _, err := json.Marshal(judged.Residency); err != nil {
				t.Fatal(err)
			}
			views.ResidencyTable(io.Discard, judged.Residency, cs)
			views.ResidencyMarkdown(io.Discard, judged.Residency, "")
		}
		views.Diagnostics(io.Discard, diags, res.Files, cs)
		if _, err := json.Marshal(views.JSONDiagnostics(diags)); err != nil {
			t.Fatal(err)
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without a summary: %#v", d)
			}
		}
	})
}
