package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
)

var today = time.Date(2026, 11, 22, 15, 4, 0, 0, time.UTC)

func judge(t *testing.T, res *config.Result, asOf time.Time) *policy.Result {
	t.Helper()
	if res.Diagnostics.HasErrors() {
		t.Fatalf("description does not load: %v", res.Diagnostics)
	}
	return policy.Check(res.Description, catalog.Default(), asOf)
}

func judgeFile(t *testing.T, path string, asOf time.Time) *policy.Result {
	t.Helper()
	return judge(t, config.Load(path), asOf)
}

func judgeSrc(t *testing.T, src string) *policy.Result {
	t.Helper()
	return judge(t, config.LoadBytes("t.hcl", []byte(src)), today)
}

func find(diags hcl.Diagnostics, sev hcl.DiagnosticSeverity, summary string) []*hcl.Diagnostic {
	var out []*hcl.Diagnostic
	for _, d := range diags {
		if d.Severity == sev && d.Summary == summary {
			out = append(out, d)
		}
	}
	return out
}

func row(t *testing.T, rep *policy.Report, addr string) policy.Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Address() == addr {
			return r
		}
	}
	t.Fatalf("no row %s in report", addr)
	return policy.Row{}
}

func TestTodayFailsOwnershipForEveryResource(t *testing.T) {
	res := judgeFile(t, "../../stacks/cosocial/cosocial-today.hcl", today)
	errs := find(res.Diagnostics, hcl.DiagError, "Provider not Canadian-owned")
	if len(errs) != 3 {
		t.Fatalf("want 3 ownership errors (server, database, bucket), got %d: %v", len(errs), res.Diagnostics)
	}
	for i, addr := range []string{"server.web", "database.main", "bucket.media"} {
		d := errs[i].Detail
		if !strings.HasPrefix(d, addr+" ") || !strings.Contains(d, "DigitalOcean Holdings, Inc.") || !strings.Contains(d, "United States") {
			t.Errorf("error %d does not name %s and DigitalOcean's US ownership: %s", i, addr, d)
		}
	}
	if n := len(res.Diagnostics); n != 3 {
		t.Errorf("want exactly the 3 ownership errors, got %d: %v", n, res.Diagnostics)
	}
	if res.Residency.Compliant {
		t.Error("report says compliant")
	}
	r := row(t, res.Residency, "database.main")
	if r.DataCountry != policy.Pass || r.OwnershipRule != policy.Fail || r.City != "Toronto" || r.OwnerCountry != "US" {
		t.Errorf("database.main row = %+v", r)
	}
}

func TestTargetIsCompliantWithTwoWaivers(t *testing.T) {
	res := judgeFile(t, "../../stacks/cosocial/cosocial-target.hcl", today)
	if res.Diagnostics.HasErrors() || len(res.Diagnostics) != 0 {
		t.Fatalf("target has diagnostics: %v", res.Diagnostics)
	}
	rep := res.Residency
	if !rep.Compliant {
		t.Fatal("target is not compliant")
	}
	if len(rep.Waivers) != 2 {
		t.Fatalf("want 2 waivers, got %+v", rep.Waivers)
	}
	want := map[string]struct {
		expires string
		applied string
	}{
		"managed-databases": {"2027-06-30", "database.main,database.podcasts"},
		"dns":               {"2027-01-31", "dns.cosocial"},
	}
	for _, w := range rep.Waivers {
		exp, ok := want[w.Name]
		if !ok || w.Expires != exp.expires || strings.Join(w.AppliedTo, ",") != exp.applied || w.Expired {
			t.Errorf("waiver %+v, want %+v", w, exp)
		}
	}
	if r := row(t, rep, "server.web"); r.OwnershipRule != policy.Pass || r.Owner != "VEXXHOST Inc." || r.City != "Montreal" {
		t.Errorf("server.web row = %+v", r)
	}
	if r := row(t, rep, "dns.cosocial"); r.DataCountry != policy.NotApplicable || r.OwnershipRule != policy.Waived || r.Waiver != "dns" {
		t.Errorf("dns.cosocial row = %+v", r)
	}
	if r := row(t, rep, "state (s3)"); r.OwnershipRule != policy.Pass || r.Region != "ca-ymq-1" {
		t.Errorf("state row = %+v", r)
	}
}

func TestExpiredWaiverNoLongerApplies(t *testing.T) {
	asOf := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	res := judgeFile(t, "../../stacks/cosocial/cosocial-target.hcl", asOf)
	expired := find(res.Diagnostics, hcl.DiagWarning, "Waiver expired")
	if len(expired) != 1 || !strings.Contains(expired[0].Detail, `"dns" expired on 2027-01-31`) {
		t.Fatalf("want the dns waiver reported expired, got %v", res.Diagnostics)
	}
	errs := find(res.Diagnostics, hcl.DiagError, "Provider not Canadian-owned")
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Detail, "dns.cosocial") || !strings.Contains(errs[0].Detail, "covered this until 2027-01-31") {
		t.Fatalf("want dns.cosocial to fail ownership again, got %v", errs)
	}
	if res.Residency.Compliant {
		t.Error("report still says compliant")
	}
	// The last day of a waiver is still covered.
	res = judgeFile(t, "../../stacks/cosocial/cosocial-target.hcl", time.Date(2027, 1, 31, 23, 0, 0, 0, time.UTC))
	if res.Diagnostics.HasErrors() {
		t.Errorf("on its expiry date the waiver still applies: %v", res.Diagnostics)
	}
	if soon := find(res.Diagnostics, hcl.DiagWarning, "Waiver expires soon"); len(soon) != 1 {
		t.Errorf("want an expires-soon warning on the last day, got %v", res.Diagnostics)
	}
}

func TestStarterWarnsOnOwnership(t *testing.T) {
	res := judgeFile(t, "../../stacks/starter/cosocial.hcl", today)
	if res.Diagnostics.HasErrors() {
		t.Fatalf("starter has errors: %v", res.Diagnostics)
	}
	if n := len(find(res.Diagnostics, hcl.DiagWarning, "Provider not Canadian-owned")); n != 3 {
		t.Errorf("want 3 ownership warnings, got %d: %v", n, res.Diagnostics)
	}
	if n := len(find(res.Diagnostics, hcl.DiagWarning, "No media_host")); n != 1 {
		t.Errorf("want a media_host warning, got %v", res.Diagnostics)
	}
}

// desc builds a description around one provider and extra blocks.
func desc(policyBlock, extra string) string {
	return `
coop "t" {
  name   = "T"
  domain = "t.example.ca"
}
` + policyBlock + `
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}
provider "digitalocean" "tor" {
  region = "tor1"
}
provider "openstack" "ymq" {
  cloud  = "vexxhost"
  region = "ca-ymq-1"
}
` + extra
}

const strict = `
policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  on_violation = "error"
}
`

const dataOnly = `
policy "residency" {
  data_country = "CA"
}
`

func TestBucketOutsideCanadaFailsDataCountry(t *testing.T) {
	cases := []struct {
		provider, region, country string
	}{
		{"digitalocean", "nyc3", "the United States"},
		{"ovh", "GRA11", "France"},
		{"openstack", "sjc1", "the United States"},
	}
	for _, tc := range cases {
		t.Run(tc.region, func(t *testing.T) {
			extra := `
provider "` + tc.provider + `" "away" {
  region = "` + tc.region + `"
  ` + map[string]string{"ovh": "endpoint = \"ovh-eu\"\n  project = \"p\"", "openstack": "operator = \"vexxhost\"", "digitalocean": ""}[tc.provider] + `
}
bucket "b" {
  provider = provider.away
}
`
			src := desc(dataOnly, extra)
			res := judgeSrc(t, src)
			errs := find(res.Diagnostics, hcl.DiagError, "Data outside Canada")
			if len(errs) != 1 {
				t.Fatalf("want one data_country error, got %v", res.Diagnostics)
			}
			if !strings.Contains(errs[0].Detail, "in "+tc.country+".") || !strings.Contains(errs[0].Detail, tc.region) {
				t.Errorf("error does not name region %s and country %s: %s", tc.region, tc.country, errs[0].Detail)
			}
			want := strings.Index(src, "provider = provider.away")
			if errs[0].Subject.Start.Byte != want {
				t.Errorf("error at byte %d, want %d (the bucket's provider line)", errs[0].Subject.Start.Byte, want)
			}
			r := row(t, res.Residency, "bucket.b")
			if r.DataCountry != policy.Fail || r.OwnershipRule != policy.NotApplicable {
				t.Errorf("row = %+v", r)
			}
		})
	}
}

func TestRegionOverrideIsJudged(t *testing.T) {
	src := desc(dataOnly, `
bucket "b" {
  provider = provider.tor
  region   = "nyc3"
}
`)
	res := judgeSrc(t, src)
	errs := find(res.Diagnostics, hcl.DiagError, "Data outside Canada")
	if len(errs) != 1 || errs[0].Subject.Start.Byte != strings.Index(src, `region   = "nyc3"`) {
		t.Fatalf("want the error at the region line, got %v", errs)
	}
}

func TestOnViolationWarnReportsButDoesNotBlock(t *testing.T) {
	warn := strings.Replace(strict, `on_violation = "error"`, `on_violation = "warn"`, 1)
	res := judgeSrc(t, desc(warn, "bucket \"b\" {\n  provider = provider.tor\n}\n"))
	if res.Blocked() {
		t.Fatalf("warn policy blocked: %v", res.Diagnostics)
	}
	if n := len(find(res.Diagnostics, hcl.DiagWarning, "Provider not Canadian-owned")); n != 1 {
		t.Fatalf("want one warning, got %v", res.Diagnostics)
	}
	if res.Residency.Compliant {
		t.Error("the report must still say not compliant")
	}
}

func TestDomainRules(t *testing.T) {
	cases := []struct {
		name    string
		extra   string
		summary string
		detail  []string
	}{
		{
			name:    "server flavor not offered lists what is",
			extra:   "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-9\"\n  image = \"Debian 12\"\n}\n",
			summary: "Unsupported flavor",
			detail:  []string{`no server flavor "b3-9" in BHS5`, `Did you mean "b3-8"?`, "b3-16", "d2-2"},
		},
		{
			name:    "database flavor not offered on the plan",
			extra:   "database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-120\"\n  disk_gb = 80\n}\n",
			summary: "Unsupported database flavor",
			detail:  []string{"on the essential plan", "db1-4, db1-7, db1-15, db1-30"},
		},
		{
			name:    "database version not offered",
			extra:   "database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"12\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n",
			summary: "Database version not offered",
			detail:  []string{"14, 15, 16, 17"},
		},
		{
			name:    "plan unknown",
			extra:   "database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"bussiness\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n",
			summary: "Unsupported database plan",
			detail:  []string{`Did you mean "business"?`, `"essential", "business", "enterprise"`},
		},
		{
			name:    "plan missing on OVHcloud",
			extra:   "database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n",
			summary: "Missing database plan",
		},
		{
			name:    "plan on DigitalOcean",
			extra:   "database \"d\" {\n  provider = provider.tor\n  engine = \"postgresql\"\n  version = \"15\"\n  plan = \"business\"\n  flavor = \"db-s-4vcpu-8gb\"\n  disk_gb = 100\n}\n",
			summary: "Unexpected database plan",
		},
		{
			name:    "disk out of range",
			extra:   "database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 500\n}\n",
			summary: "Unsupported disk size",
			detail:  []string{"20 to 240 GB in steps of 10 GB, not 500 GB"},
		},
		{
			name: "no managed databases in Toronto at OVHcloud",
			extra: "provider \"ovh\" \"toronto\" {\n  endpoint = \"ovh-ca\"\n  project = \"p\"\n  region = \"CA-EAST-TOR\"\n}\n" +
				"database \"d\" {\n  provider = provider.toronto\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n",
			summary: "Database engine not offered",
			detail:  []string{"no postgresql databases in CA-EAST-TOR", "BHS5, GRA11"},
		},
		{
			name:    "unknown region lists the regions",
			extra:   "provider \"digitalocean\" \"x\" {\n  region = \"tor2\"\n}\nbucket \"b\" {\n  provider = provider.x\n}\n",
			summary: "Unsupported region",
			detail:  []string{`Did you mean "tor1"?`, "tor1 (Toronto, ON, Canada)", "nyc3"},
		},
		{
			name:    "unknown OpenStack region",
			extra:   "provider \"openstack\" \"x\" {\n  region = \"mars-1\"\n}\nbucket \"b\" {\n  provider = provider.x\n}\n",
			summary: "Unknown OpenStack region",
			detail:  []string{"ca-ymq-1 (VEXXHOST"},
		},
		{
			name: "Mastodon on MySQL",
			extra: "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n" +
				"database \"d\" {\n  provider = provider.bhs\n  engine = \"mysql\"\n  version = \"8\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n" +
				"service \"mastodon\" \"m\" {\n  domain = \"t.example.ca\"\n  version = \"4.3.2\"\n  server = server.s\n  database = database.d\n}\n",
			summary: "Wrong database engine",
			detail:  []string{"Mastodon runs on postgresql; database.d is mysql."},
		},
		{
			name: "Castopod on PostgreSQL",
			extra: "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n" +
				"database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n" +
				"service \"castopod\" \"c\" {\n  domain = \"pod.t.example.ca\"\n  version = \"1.13.2\"\n  server = server.s\n  database = database.d\n}\n",
			summary: "Wrong database engine",
			detail:  []string{"Castopod runs on mysql or mariadb"},
		},
		{
			name: "service outside its DNS zone",
			extra: "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n" +
				"database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n" +
				"dns \"z\" {\n  provider = provider.bhs\n  zone = \"other.ca\"\n}\n" +
				"service \"pixelfed\" \"p\" {\n  domain = \"pix.t.example.ca\"\n  version = \"0.12.4\"\n  server = server.s\n  database = database.d\n  dns = dns.z\n}\n",
			summary: "Domain outside the zone",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := desc("", tc.extra)
			res := judgeSrc(t, src)
			errs := find(res.Diagnostics, hcl.DiagError, tc.summary)
			if len(errs) != 1 {
				t.Fatalf("want one error %q, got %v", tc.summary, res.Diagnostics)
			}
			if errs[0].Subject == nil || errs[0].Subject.Start.Byte < strings.Index(src, tc.extra) {
				t.Errorf("error %q points at %v, not at the block under test", tc.summary, errs[0].Subject)
			}
			for _, want := range tc.detail {
				if !strings.Contains(errs[0].Detail, want) {
					t.Errorf("detail %q does not contain %q", errs[0].Detail, want)
				}
			}
		})
	}
}

func TestNamesAreUsedOnce(t *testing.T) {
	svc := func(name, domain, media string) string {
		return "service \"mastodon\" \"" + name + "\" {\n  domain = \"" + domain + "\"\n  version = \"4.3.2\"\n  server = server.s\n  database = database.d\n  media_host = \"" + media + "\"\n}\n"
	}
	base := "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n" +
		"database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n"
	for _, tc := range []struct{ name, extra, want string }{
		{"media host is the domain", svc("a", "a.t.example.ca", "a.t.example.ca"), "a.t.example.ca is already the name of service.mastodon.a (domain)"},
		{"two services, one domain", svc("a", "a.t.example.ca", "m1.t.example.ca") + svc("b", "a.t.example.ca", "m2.t.example.ca"), "already the name of service.mastodon.a (domain)"},
		{"media host of another", svc("a", "a.t.example.ca", "m.t.example.ca") + svc("b", "b.t.example.ca", "m.t.example.ca"), "already the name of service.mastodon.a (media_host)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := judgeSrc(t, desc("", base+tc.extra))
			errs := find(res.Diagnostics, hcl.DiagError, "Name used twice")
			if len(errs) != 1 || !strings.Contains(errs[0].Detail, tc.want) {
				t.Fatalf("want one \"Name used twice\" with %q, got %v", tc.want, res.Diagnostics)
			}
		})
	}
}

func TestPixelfedTakesEitherEngine(t *testing.T) {
	for _, engine := range []string{"postgresql", "mysql"} {
		version := map[string]string{"postgresql": "16", "mysql": "8"}[engine]
		res := judgeSrc(t, desc("", "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n"+
			"database \"d\" {\n  provider = provider.bhs\n  engine = \""+engine+"\"\n  version = \""+version+"\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n"+
			"service \"pixelfed\" \"p\" {\n  domain = \"pix.t.example.ca\"\n  version = \"0.12.4\"\n  server = server.s\n  database = database.d\n}\n"))
		if res.Blocked() {
			t.Errorf("pixelfed on %s: %v", engine, res.Diagnostics)
		}
	}
}

func TestMediaHostIsAnErrorOnlyWhenTheBucketMigrates(t *testing.T) {
	dir := t.TempDir()
	target := strings.Replace(readFile(t, "../../stacks/cosocial/cosocial-target.hcl"), "  media_host = \"media.cosocial.ca\"\n", "", 1)
	writeFile(t, dir+"/target.hcl", target)
	writeFile(t, dir+"/cosocial-today.hcl", readFile(t, "../../stacks/cosocial/cosocial-today.hcl"))
	res := judgeFile(t, dir+"/target.hcl", today)
	errs := find(res.Diagnostics, hcl.DiagError, "Migrated media without media_host")
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, "bucket.media moves in migration \"off-digitalocean\"") {
		t.Fatalf("want the migrated-media error, got %v", res.Diagnostics)
	}
	// Without the migration block the same service only gets a warning.
	i := strings.Index(target, "migration \"off-digitalocean\"")
	writeFile(t, dir+"/target.hcl", target[:i])
	res = judgeFile(t, dir+"/target.hcl", today)
	if res.Blocked() || len(find(res.Diagnostics, hcl.DiagWarning, "No media_host")) != 1 {
		t.Fatalf("want only a warning without a migration, got %v", res.Diagnostics)
	}
}

func TestMigrationVersionAndEngine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/cosocial-today.hcl", strings.Replace(readFile(t, "../../stacks/cosocial/cosocial-today.hcl"), `version  = "15"`, `version  = "17"`, 1))
	writeFile(t, dir+"/target.hcl", readFile(t, "../../stacks/cosocial/cosocial-target.hcl"))
	res := judgeFile(t, dir+"/target.hcl", today)
	errs := find(res.Diagnostics, hcl.DiagError, "Database version goes down")
	if len(errs) != 1 || !strings.Contains(errs[0].Detail, "postgresql 17 today and 16 here") {
		t.Fatalf("want a version-down error, got %v", res.Diagnostics)
	}
}

func TestPulumiCloudStateIsAlwaysAViolation(t *testing.T) {
	res := judgeSrc(t, desc(strict, "state {\n  backend = \"pulumi-cloud\"\n}\n"))
	if len(find(res.Diagnostics, hcl.DiagError, "State kept outside Canada")) != 1 ||
		len(find(res.Diagnostics, hcl.DiagError, "State kept by a provider not Canadian-owned")) != 1 {
		t.Fatalf("want both state violations, got %v", res.Diagnostics)
	}
	r := row(t, res.Residency, "state (pulumi-cloud)")
	if r.DataCountry != policy.Fail || r.OwnershipRule != policy.Fail || r.Owner != "Pulumi Corporation" {
		t.Errorf("state row = %+v", r)
	}
}

func TestUnneededWaiverAndUnusedProvider(t *testing.T) {
	pol := `
policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  waiver "w" {
    resources = [bucket.b]
    rule      = "ownership"
    reason    = "habit"
    expires   = "2030-01-01"
  }
}
`
	res := judgeSrc(t, desc(pol, "bucket \"b\" {\n  provider = provider.ymq\n}\n"))
	if len(find(res.Diagnostics, hcl.DiagWarning, "Waiver not needed")) != 1 {
		t.Errorf("want a waiver-not-needed warning, got %v", res.Diagnostics)
	}
	if n := len(find(res.Diagnostics, hcl.DiagWarning, "Unused provider")); n != 2 {
		t.Errorf("want 2 unused providers (bhs, tor), got %d", n)
	}
}

func TestNoPolicyIsAWarning(t *testing.T) {
	res := judgeSrc(t, desc("", "bucket \"b\" {\n  provider = provider.tor\n}\n"))
	if len(find(res.Diagnostics, hcl.DiagWarning, "No residency policy")) != 1 || res.Blocked() {
		t.Fatalf("want a no-policy warning and nothing blocked, got %v", res.Diagnostics)
	}
}

func TestDomainErrorsAreCountedApartFromFindings(t *testing.T) {
	res := judgeSrc(t, desc(strict, "server \"s\" {\n  provider = provider.tor\n  flavor = \"huge\"\n  image = \"x\"\n}\n"))
	if got := res.DomainErrors(); got != 1 {
		t.Errorf("DomainErrors = %d, want 1 (the flavor; the ownership violation is a finding): %v", got, res.Diagnostics)
	}
	var findings int
	for _, d := range res.Diagnostics {
		if f, ok := d.Extra.(policy.Finding); ok && f.Rule == model.RuleOwnership {
			findings++
		}
	}
	if findings != 1 {
		t.Errorf("want one ownership finding, got %d", findings)
	}
}

// TestBucketNamesTheProvidersRefuse: the name a bucket gets at its
// provider is checked against S3's rules in validate, at the block, rather
// than failing half-way through up.
func TestBucketNamesTheProvidersRefuse(t *testing.T) {
	for label, want := range map[string]string{
		"Media_Ünï":             `'ü' at position 9`,
		strings.Repeat("m", 62): "64 characters long",
		"media-s3alias":         "suffix S3 reserves",
		"media_archive":         "",
		"Media":                 "",
		strings.Repeat("m", 61): "",
	} {
		src := desc(dataOnly, "bucket \""+label+"\" {\n  provider = provider.ymq\n}\n")
		res := judgeSrc(t, src)
		errs := find(res.Diagnostics, hcl.DiagError, "Bucket name the providers refuse")
		if want == "" {
			if len(errs) != 0 {
				t.Errorf("%q: refused: %s", label, errs[0].Detail)
			}
			continue
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Detail, want) {
			t.Errorf("%q: want one error saying %q, got %v", label, want, res.Diagnostics)
			continue
		}
		if at := strings.Index(src, "bucket \""); errs[0].Subject.Start.Byte != at {
			t.Errorf("%q: error at byte %d, want the block at %d", label, errs[0].Subject.Start.Byte, at)
		}
	}
}

// TestAMailRelayIsNamedAsNotJudged: members' addresses go through it, and
// no provider block says where it is.
func TestAMailRelayIsNamedAsNotJudged(t *testing.T) {
	svc := "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n" +
		"database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"16\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n" +
		"service \"mastodon\" \"m\" {\n  domain = \"m.t.example.ca\"\n  version = \"4.3.2\"\n  server = server.s\n  database = database.d\n" +
		"  smtp {\n    host = \"smtp.relay.example.com\"\n    from = \"n@t.example.ca\"\n  }\n}\n"
	pol := "policy \"residency\" {\n  data_country = \"CA\"\n  ownership = \"any\"\n  on_violation = \"warn\"\n}\n"
	got := find(judgeSrc(t, desc(pol, svc)).Diagnostics, hcl.DiagWarning, "Mail relay not judged by the residency policy")
	if len(got) != 1 || !strings.Contains(got[0].Detail, "smtp.relay.example.com") || got[0].Subject == nil || got[0].Subject.Start.Line == 0 {
		t.Fatalf("warnings: %v", got)
	}
	if got := find(judgeSrc(t, desc(pol, strings.Replace(svc, "  smtp {\n    host = \"smtp.relay.example.com\"\n    from = \"n@t.example.ca\"\n  }\n", "", 1))).Diagnostics, hcl.DiagWarning, "Mail relay not judged by the residency policy"); len(got) != 0 {
		t.Errorf("a service without a relay: %v", got)
	}
}

// TestAReleaseTheDatabaseCannotRunIsRefused: Mastodon's notes give each
// line's oldest PostgreSQL; a version that is no release number is refused
// at its line too.
func TestAReleaseTheDatabaseCannotRunIsRefused(t *testing.T) {
	for _, tc := range []struct {
		version, pg string
		want        string // "" when it may go ahead
	}{
		{"4.3.2", "12", ""},
		{"4.4.0", "13", ""},
		{"4.5.1", "13", "Mastodon 4.5.1 needs PostgreSQL 14 or newer; the database is PostgreSQL 13"},
		{"4.4.3", "12", "needs PostgreSQL 13 or newer"},
		{"4.3", "16", `"4.3" is not a release number`},
	} {
		src := "server \"s\" {\n  provider = provider.bhs\n  flavor = \"b3-8\"\n  image = \"Debian 12\"\n}\n" +
			"database \"d\" {\n  provider = provider.bhs\n  engine = \"postgresql\"\n  version = \"" + tc.pg + "\"\n  plan = \"essential\"\n  flavor = \"db1-4\"\n  disk_gb = 80\n}\n" +
			"service \"mastodon\" \"m\" {\n  domain = \"m.t.example.ca\"\n  version = \"" + tc.version + "\"\n  server = server.s\n  database = database.d\n}\n"
		got := find(judgeSrc(t, desc("", src)).Diagnostics, hcl.DiagError, "Release not deployable")
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s on PostgreSQL %s: %v", tc.version, tc.pg, got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0].Detail, tc.want) || got[0].Subject == nil):
			t.Errorf("%s on PostgreSQL %s: want %q, got %v", tc.version, tc.pg, tc.want, got)
		}
	}
}
