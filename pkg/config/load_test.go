package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// base is a small valid description that each case below breaks in one way.
const base = `
coop "test" {
  name   = "Test Co-operative"
  domain = "test.example.ca"
}

provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}

server "web" {
  provider = provider.bhs
  flavor   = "b3-8"
  image    = "Debian 12"
}

database "main" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "essential"
  flavor   = "db1-4"
  disk_gb  = 80
}

bucket "media" {
  provider = provider.bhs
}

service "mastodon" "test" {
  domain   = "test.example.ca"
  version  = "4.3.2"
  server   = server.web
  database = database.main
  media    = bucket.media
}
`

func errorsOf(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			out = append(out, d)
		}
	}
	return out
}

func TestBaseIsValid(t *testing.T) {
	res := LoadBytes("base.hcl", []byte(base))
	if len(res.Diagnostics) != 0 {
		t.Fatalf("base description has diagnostics: %v", res.Diagnostics)
	}
	d := res.Description
	if d.Coop.Domain != "test.example.ca" || len(d.Servers) != 1 || len(d.Databases) != 1 || len(d.Buckets) != 1 || len(d.Services) != 1 {
		t.Fatalf("decoded model is wrong: %+v", d)
	}
	if d.Databases[0].DiskGB != 80 || d.Databases[0].Provider.Name != "bhs" {
		t.Errorf("database decoded as %+v", d.Databases[0])
	}
}

func TestLanguageErrors(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(string) string
		summary string
		at      string // the text the diagnostic's subject starts at
		detail  []string
	}{
		{
			name:    "typo in attribute suggests the right one",
			edit:    func(s string) string { return strings.Replace(s, `flavor   = "b3-8"`, `flavour  = "b3-8"`, 1) },
			summary: "Unsupported argument",
			at:      `flavour`,
			detail:  []string{`Did you mean "flavor"?`},
		},
		{
			name:    "unknown block suggests the right one",
			edit:    func(s string) string { return s + "\nservr \"x\" {\n}\n" },
			summary: "Unsupported block type",
			at:      `servr`,
			detail:  []string{`Did you mean "server"?`},
		},
		{
			name:    "smtp port out of range",
			edit:    func(s string) string { return withSMTP(s, `port = 70000`) },
			summary: `Invalid value for "port"`,
			at:      `70000`,
			detail:  []string{"not a TCP port", "587"},
		},
		{
			name: "smtp from is not an address",
			edit: func(s string) string {
				return strings.Replace(withSMTP(s, ""), `from = "notifications@test.example.ca"`, `from = "Test <notifications@test.example.ca>"`, 1)
			},
			summary: `Invalid value for "from"`,
			at:      `"Test <`,
			detail:  []string{"not a mail address"},
		},
		{
			name:    "smtp password written in place of its variable",
			edit:    func(s string) string { return withSMTP(s, `password_env = "hunter2 !"`) },
			summary: `Invalid value for "password_env"`,
			at:      `"hunter2 !"`,
			detail:  []string{"not the name of an environment variable", "never goes in the description"},
		},
		{
			name:    "smtp user without a password",
			edit:    func(s string) string { return withSMTP(s, `user = "postmaster"`) },
			summary: "Missing password_env",
			at:      "smtp {",
			detail:  []string{`"postmaster" needs a password`},
		},
		{
			name: "two smtp blocks",
			edit: func(s string) string {
				return withSMTP(s, "}\n  smtp {\n    host = \"smtp.test.example.ca\"\n    from = \"a@test.example.ca\"")
			},
			summary: "Duplicate smtp block",
			at:      "smtp {\n    host = \"smtp.test.example.ca\"\n    from = \"a@",
			detail:  []string{"only one is allowed"},
		},
		{
			name:    "wrong type",
			edit:    func(s string) string { return strings.Replace(s, `disk_gb  = 80`, `disk_gb  = "eighty"`, 1) },
			summary: "Incorrect attribute value type",
			at:      `"eighty"`,
			detail:  []string{`"disk_gb" must be a number, not a string`},
		},
		{
			name:    "not a whole number",
			edit:    func(s string) string { return strings.Replace(s, `disk_gb  = 80`, `disk_gb  = 80.5`, 1) },
			summary: `Invalid value for "disk_gb"`,
			at:      `80.5`,
			detail:  []string{"whole number"},
		},
		{
			name: "duplicate server",
			edit: func(s string) string {
				return s + "\nserver \"web\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"x\"\n}\n"
			},
			summary: `Duplicate server "web"`,
			at:      "server \"web\" {\n  provider = provider.bhs\n  flavor = ",
			detail:  []string{"already declared at t.hcl line 13"},
		},
		{
			name:    "duplicate provider name across kinds",
			edit:    func(s string) string { return s + "\nprovider \"digitalocean\" \"bhs\" {\n  region = \"tor1\"\n}\n" },
			summary: `Duplicate provider "bhs"`,
			at:      `provider "digitalocean"`,
			detail:  []string{"already declared at t.hcl line 7"},
		},
		{
			name:    "undeclared reference suggests the close name",
			edit:    func(s string) string { return strings.Replace(s, `server   = server.web`, `server   = server.webb`, 1) },
			summary: "Reference to undeclared server",
			at:      `server.webb`,
			detail:  []string{`No server named "webb" is declared.`, "Did you mean server.web?"},
		},
		{
			name: "reference to the wrong kind",
			edit: func(s string) string {
				return strings.Replace(s, `server   = server.web`, `server   = database.main`, 1)
			},
			summary: "Invalid reference",
			at:      `database.main`,
			detail:  []string{"Expected a reference to a server", "database.main is a database"},
		},
		{
			name: "quoted reference",
			edit: func(s string) string {
				return strings.Replace(s, `media    = bucket.media`, `media    = "bucket.media"`, 1)
			},
			summary: "Invalid reference",
			at:      `"bucket.media"`,
			detail:  []string{"Write it without quotes."},
		},
		{
			name: "reference cycle",
			edit: func(s string) string {
				s = strings.Replace(s, "  image    = \"Debian 12\"\n", "  image    = \"Debian 12\"\n  depends_on = [database.main]\n", 1)
				return strings.Replace(s, "  disk_gb  = 80\n", "  disk_gb  = 80\n  depends_on = [server.web]\n", 1)
			},
			summary: "Reference cycle",
			at:      `database.main]`,
			detail:  []string{"server.web → database.main → server.web"},
		},
		{
			name: "resource depending on itself",
			edit: func(s string) string {
				return strings.Replace(s, "bucket \"media\" {\n", "bucket \"media\" {\n  depends_on = [bucket.media]\n", 1)
			},
			summary: "Reference cycle",
			at:      `bucket.media]`,
			detail:  []string{"bucket.media → bucket.media"},
		},
		{
			name:    "unknown application suggests the right one",
			edit:    func(s string) string { return strings.Replace(s, `service "mastodon"`, `service "mastadon"`, 1) },
			summary: "Unsupported application",
			at:      `"mastadon"`,
			detail:  []string{`Did you mean "mastodon"?`},
		},
		{
			name:    "unknown provider kind",
			edit:    func(s string) string { return s + "\nprovider \"aws\" \"x\" {\n  region = \"ca-central-1\"\n}\n" },
			summary: "Unsupported provider kind",
			at:      `"aws"`,
			detail:  []string{`"digitalocean", "openstack" or "ovh"`},
		},
		{
			name: "argument of another provider kind",
			edit: func(s string) string {
				return s + "\nprovider \"digitalocean\" \"tor\" {\n  region  = \"tor1\"\n  project = \"x\"\n}\n"
			},
			summary: "Unsupported argument",
			at:      `project = "x"`,
		},
		{
			name: "engine not in the language",
			edit: func(s string) string {
				return strings.Replace(s, `engine   = "postgresql"`, `engine   = "postgres"`, 1)
			},
			summary: `Invalid value for "engine"`,
			at:      `"postgres"`,
			detail:  []string{`Did you mean "postgresql"?`},
		},
		{
			name: "bad domain",
			edit: func(s string) string {
				return strings.Replace(s, `domain = "test.example.ca"`, `domain = "Test Example"`, 1)
			},
			summary: `Invalid value for "domain"`,
			at:      `"Test Example"`,
			detail:  []string{"not a domain name"},
		},
		{
			name:    "missing required argument",
			edit:    func(s string) string { return strings.Replace(s, "  image    = \"Debian 12\"\n", "", 1) },
			summary: "Missing required argument",
			detail:  []string{`"image" is required`},
		},
		{
			name:    "invalid name",
			edit:    func(s string) string { return strings.Replace(s, `bucket "media"`, `bucket "my media"`, 1) },
			summary: "Invalid name",
			at:      `"my media"`,
		},
		{
			name: "waiver with a bad date and an unknown rule",
			edit: func(s string) string {
				return s + "\npolicy \"residency\" {\n  waiver \"w\" {\n    resources = [server.web]\n    rule = \"owner\"\n    reason = \"r\"\n    expires = \"2027-6-30\"\n  }\n}\n"
			},
			summary: `Invalid value for "expires"`,
			at:      `"2027-6-30"`,
			detail:  []string{"YYYY-MM-DD"},
		},
		{
			name: "state in s3 without a bucket",
			edit: func(s string) string {
				return s + "\nstate {\n  backend = \"s3\"\n}\n"
			},
			summary: "Missing state bucket",
			at:      "state {",
		},
		{
			name: "migration with a bad duration",
			edit: func(s string) string {
				return s + "\nmigration \"m\" {\n  source = \"nowhere.hcl\"\n  downtime_budget = \"five minutes\"\n}\n"
			},
			summary: `Invalid value for "downtime_budget"`,
			at:      `"five minutes"`,
		},
		{
			name: "migration from a missing file",
			edit: func(s string) string {
				return s + "\nmigration \"m\" {\n  source = \"nowhere.hcl\"\n  downtime_budget = \"5m\"\n}\n"
			},
			summary: "Cannot read migration source",
			at:      `source = "nowhere.hcl"`,
			detail:  []string{"nowhere.hcl"},
		},
		{
			name:    "second coop block",
			edit:    func(s string) string { return s + "\ncoop \"again\" {\n  name = \"x\"\n  domain = \"x.ca\"\n}\n" },
			summary: "Duplicate coop block",
			at:      `coop "again"`,
		},
		{
			name:    "syntax error",
			edit:    func(s string) string { return strings.Replace(s, `image    = "Debian 12"`, `image    = "Debian 12`, 1) },
			summary: "Unterminated template string",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.edit(base)
			res := LoadBytes("t.hcl", []byte(src))
			var found *hcl.Diagnostic
			for _, d := range errorsOf(res.Diagnostics) {
				if d.Summary == tc.summary {
					found = d
					break
				}
			}
			if found == nil {
				t.Fatalf("no error %q; got %v", tc.summary, res.Diagnostics)
			}
			if found.Subject == nil || found.Subject.Filename != "t.hcl" {
				t.Fatalf("error %q has no subject in t.hcl: %+v", tc.summary, found.Subject)
			}
			if tc.at != "" {
				i := strings.Index(src, tc.at)
				if i < 0 {
					t.Fatalf("test source has no %q", tc.at)
				}
				line := strings.Count(src[:i], "\n") + 1
				col := i - strings.LastIndex(src[:i], "\n")
				if found.Subject.Start.Line != line || found.Subject.Start.Column != col {
					t.Errorf("error %q at line %d column %d, want line %d column %d (%q)",
						tc.summary, found.Subject.Start.Line, found.Subject.Start.Column, line, col, tc.at)
				}
			}
			for _, want := range tc.detail {
				if !strings.Contains(found.Detail, want) {
					t.Errorf("detail %q does not contain %q", found.Detail, want)
				}
			}
		})
	}
}

// withSMTP adds a mail relay to base's service, with extra lines.
func withSMTP(s, extra string) string {
	block := "  smtp {\n    host = \"smtp.test.example.ca\"\n    from = \"notifications@test.example.ca\"\n    " + extra + "\n  }\n"
	return strings.Replace(s, "  media    = bucket.media\n}", "  media    = bucket.media\n"+block+"}", 1)
}

func TestTheMailRelayIsDecoded(t *testing.T) {
	res := LoadBytes("t.hcl", []byte(withSMTP(base, "port = 465\n    user = \"postmaster@test.example.ca\"\n    password_env = \"TEST_SMTP_PASSWORD\"")))
	if errs := errorsOf(res.Diagnostics); len(errs) > 0 {
		t.Fatal(errs)
	}
	m := res.Description.Services[0].SMTP
	if m == nil || m.Host != "smtp.test.example.ca" || m.Port != 465 || m.User != "postmaster@test.example.ca" || m.PasswordEnv != "TEST_SMTP_PASSWORD" || m.From != "notifications@test.example.ca" {
		t.Fatalf("smtp decoded as %+v", m)
	}
	res = LoadBytes("t.hcl", []byte(withSMTP(base, "")))
	if m := res.Description.Services[0].SMTP; m == nil || m.Port != 587 || m.User != "" {
		t.Fatalf("smtp without port or user decoded as %+v (%v)", m, res.Diagnostics)
	}
}

func TestAllErrorsAreReportedAtOnce(t *testing.T) {
	src := strings.Replace(base, `flavor   = "b3-8"`, `flavour  = "b3-8"`, 1)
	src = strings.Replace(src, `server   = server.web`, `server   = server.nope`, 1)
	src = strings.Replace(src, `disk_gb  = 80`, `disk_gb  = true`, 1)
	res := LoadBytes("t.hcl", []byte(src))
	if n := len(errorsOf(res.Diagnostics)); n < 3 {
		t.Fatalf("got %d errors, want at least 3: %v", n, res.Diagnostics)
	}
	// Diagnostics come out in source order, whatever order they were found in.
	prev := 0
	for _, d := range res.Diagnostics {
		if d.Subject.Start.Line < prev {
			t.Errorf("diagnostics out of order: line %d after %d", d.Subject.Start.Line, prev)
		}
		prev = d.Subject.Start.Line
	}
}

func TestLongerCycleIsReportedOnce(t *testing.T) {
	src := base + `
bucket "a" {
  provider   = provider.bhs
  depends_on = [bucket.b]
}
bucket "b" {
  provider   = provider.bhs
  depends_on = [bucket.c, bucket.media]
}
bucket "c" {
  provider   = provider.bhs
  depends_on = [bucket.a]
}
`
	res := LoadBytes("t.hcl", []byte(src))
	var cycles []string
	for _, d := range res.Diagnostics {
		if d.Summary == "Reference cycle" {
			cycles = append(cycles, d.Detail)
		}
	}
	if len(cycles) != 1 || !strings.Contains(cycles[0], "bucket.a → bucket.b → bucket.c → bucket.a") {
		t.Fatalf("want one cycle a → b → c → a, got %q", cycles)
	}
}

func TestMissingFile(t *testing.T) {
	res := Load(filepath.Join(t.TempDir(), "cosocial.hcl"))
	if !res.Diagnostics.HasErrors() || !strings.Contains(res.Diagnostics[0].Detail, "cosocial init") {
		t.Fatalf("want a pointer to cosocial init, got %v", res.Diagnostics)
	}
}

func TestMissingCoop(t *testing.T) {
	res := LoadBytes("t.hcl", []byte(`bucket "x" {
  provider = provider.p
}
provider "digitalocean" "p" {
  region = "tor1"
}
`))
	if !res.Diagnostics.HasErrors() || res.Diagnostics[0].Summary != "Missing coop block" {
		t.Fatalf("want Missing coop block, got %v", res.Diagnostics)
	}
}

func TestFolderFormsOneDescription(t *testing.T) {
	dir := t.TempDir()
	// Split base in two files: references cross from one to the other.
	i := strings.Index(base, "server \"web\"")
	write(t, filepath.Join(dir, "a.hcl"), base[:i])
	write(t, filepath.Join(dir, "b.hcl"), base[i:])
	write(t, filepath.Join(dir, "notes.txt"), "not a description")
	res := Load(dir)
	if len(res.Diagnostics) != 0 {
		t.Fatalf("folder has diagnostics: %v", res.Diagnostics)
	}
	if got := res.Description.Files; len(got) != 2 {
		t.Fatalf("files = %v, want a.hcl and b.hcl", got)
	}
}

func TestFolderLeavesOutTheMigrationSource(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../stacks/cosocial/cosocial-today.hcl", filepath.Join(dir, "cosocial-today.hcl"))
	copyFile(t, "../../stacks/cosocial/cosocial-target.hcl", filepath.Join(dir, "cosocial-target.hcl"))
	res := Load(dir)
	if res.Diagnostics.HasErrors() {
		t.Fatalf("folder with today and target: %v", res.Diagnostics)
	}
	d := res.Description
	if len(d.Files) != 1 || filepath.Base(d.Files[0]) != "cosocial-target.hcl" {
		t.Fatalf("description files = %v, want only the target", d.Files)
	}
	if d.Migration == nil || d.Migration.Source == nil || len(d.Migration.Source.Servers) != 1 {
		t.Fatalf("migration source not loaded: %+v", d.Migration)
	}
	if d.Migration.DowntimeBudget.Minutes() != 5 {
		t.Errorf("downtime budget = %v, want 5m", d.Migration.DowntimeBudget)
	}
}

func TestStacksLoad(t *testing.T) {
	for _, f := range []string{"../../stacks/cosocial/cosocial-today.hcl", "../../stacks/cosocial/cosocial-target.hcl", "../../stacks/starter/cosocial.hcl"} {
		res := Load(f)
		if res.Diagnostics.HasErrors() {
			t.Errorf("%s: %v", f, res.Diagnostics)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(b))
}
