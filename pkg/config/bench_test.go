package config_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/views"
)

// generate writes a valid description with n resources (servers,
// databases, buckets and DNS zones in equal parts), a Mastodon service for
// each quarter, and one waiver naming every database and zone: the shapes
// whose checks could turn quadratic.
func generate(n int) []byte {
	q := n / 4
	var b strings.Builder
	b.WriteString(`coop "big" {
  name   = "Big Co-operative"
  domain = "big.example.ca"
}
provider "openstack" "ymq" {
  cloud  = "vexxhost"
  region = "ca-ymq-1"
}
provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "p"
  region   = "BHS5"
}
policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  on_violation = "error"
  waiver "managed" {
    rule    = "ownership"
    reason  = "No Canadian-owned managed databases yet."
    expires = "2030-01-01"
    resources = [
`)
	for i := 0; i < q; i++ {
		fmt.Fprintf(&b, "      database.db%d, dns.z%d,\n", i, i)
	}
	b.WriteString("    ]\n  }\n}\n")
	for i := 0; i < q; i++ {
		fmt.Fprintf(&b, `
server "s%[1]d" {
  provider = provider.ymq
  flavor   = "v3-standard-2"
  image    = "Debian 12"
  disk_gb  = 40
}
database "db%[1]d" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "business"
  flavor   = "db1-15"
  disk_gb  = 160
}
bucket "b%[1]d" {
  provider   = provider.ymq
  public     = true
  depends_on = [server.s%[1]d]
}
dns "z%[1]d" {
  provider = provider.bhs
  zone     = "z%[1]d.example.ca"
}
service "mastodon" "m%[1]d" {
  domain     = "social.z%[1]d.example.ca"
  version    = "4.3.2"
  server     = server.s%[1]d
  database   = database.db%[1]d
  media      = bucket.b%[1]d
  media_host = "media.z%[1]d.example.ca"
  dns        = dns.z%[1]d
}
`, i)
	}
	return []byte(b.String())
}

func validateBytes(src []byte, cat *catalog.Catalog) (*policy.Result, error) {
	res := config.LoadBytes("big.hcl", src)
	if res.Diagnostics.HasErrors() {
		return nil, res.Diagnostics
	}
	judged := policy.Check(res.Description, cat, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	if judged.Blocked() || len(judged.Diagnostics) != 0 {
		return nil, judged.Diagnostics
	}
	return judged, nil
}

func TestGeneratedDescriptionIsValid(t *testing.T) {
	judged, err := validateBytes(generate(200), catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if rows := len(judged.Residency.Rows); rows != 201 {
		t.Fatalf("%d rows, want 200 resources and the state", rows)
	}
}

// BenchmarkValidate measures what `cosocial validate` does, from bytes to
// the residency report. Compare resources=200 with resources=2000: linear
// growth means a ratio near 10.
func BenchmarkValidate(b *testing.B) {
	cat := catalog.Default()
	for _, n := range []int{200, 2000} {
		src := generate(n)
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := validateBytes(src, cat); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHostileInput loads each hostile input and renders what it
// gives, as validate does, and reports the bytes allocated for it (the
// memory it costs, whatever the machine's load). Before the screen, a
// 1 MB binary file printed 19 MB of errors and 50 MB took 2.3 GB.
func BenchmarkHostileInput(b *testing.B) {
	cs := &iostreams.ColorScheme{}
	for _, tc := range hostile {
		src := tc.src()
		b.Run(strings.ReplaceAll(tc.name, " ", "-"), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			var printed int
			for b.Loop() {
				res := config.LoadBytes("hostile.hcl", src)
				var out bytes.Buffer
				views.Diagnostics(&out, res.Diagnostics, res.Files, cs)
				printed = out.Len()
			}
			b.ReportMetric(float64(printed), "printed-bytes")
		})
	}
}

// BenchmarkErrorsGrowLinearly validates and renders descriptions whose
// every server is wrong, 1,000 and 8,000 of them: linear growth means a
// ratio near 8 between the two (it was 28 before lines were indexed once
// per file and the output capped).
func BenchmarkErrorsGrowLinearly(b *testing.B) {
	cs := &iostreams.ColorScheme{}
	for _, n := range []int{1000, 8000} {
		var src strings.Builder
		src.WriteString("coop \"x\" {\n  name = \"X\"\n  domain = \"x.example.ca\"\n}\n")
		for i := range n {
			fmt.Fprintf(&src, "server \"s%d\" {\n  provider = provider.nowhere\n}\n", i)
		}
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := config.LoadBytes("many.hcl", []byte(src.String()))
				views.Diagnostics(io.Discard, res.Diagnostics, res.Files, cs)
			}
		})
	}
}
