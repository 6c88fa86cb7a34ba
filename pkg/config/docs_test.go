package config

import (
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/provider/providers"
	// The provider kinds register themselves; the language takes theirs.
	_ "github.com/cosocial/cosocial/pkg/provider/all"
)

// TestLanguageDocCoversTheSchema keeps docs/language.md in step with the
// schemas: every block and argument the language accepts is documented.
func TestLanguageDocCoversTheSchema(t *testing.T) {
	b, err := os.ReadFile("../../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	schemas := []*hcl.BodySchema{topSchema, coopSchema, policySchema, waiverSchema, stateSchema, serverSchema, databaseSchema, bucketSchema, dnsSchema, serviceSchema, allowancesSchema, smtpSchema, migrationSchema}
	for _, k := range providers.All() {
		schemas = append(schemas, providerSchema(k))
	}
	for _, s := range schemas {
		for _, a := range s.Attributes {
			if !strings.Contains(doc, "| `"+a.Name+"` |") {
				t.Errorf("docs/language.md has no row for argument %q", a.Name)
			}
		}
		for _, blk := range s.Blocks {
			if !strings.Contains(doc, "## `"+blk.Type) && !strings.Contains(doc, "### `"+blk.Type) {
				t.Errorf("docs/language.md has no section for block %q", blk.Type)
			}
		}
	}
	for _, kind := range providers.Names() {
		if !strings.Contains(doc, "### `provider \""+kind+"\"`") {
			t.Errorf("docs/language.md has no section for provider %q", kind)
		}
	}
}
