package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/providerplugin"
	"github.com/cosocial/cosocial/pkg/stack"
)

const mapleDescription = `
coop "t" {
  name   = "T"
  domain = "t.example.ca"
}
policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  on_violation = "error"
}
provider "maple" "yul" {
  project = "coop"
  region  = "ca-ymq-1"
}
server "web" {
  provider = provider.yul
  flavor   = "v3-standard-4"
  image    = "Debian 12"
}
database "main" {
  provider = provider.yul
  engine   = "postgresql"
  version  = "16"
  flavor   = "v3-standard-2"
  disk_gb  = 40
}
bucket "media" {
  provider = provider.yul
  public   = true
}
service "mastodon" "t" {
  domain   = "t.example.ca"
  version  = "4.3.2"
  server   = server.web
  database = database.main
  media    = bucket.media
}
`

// TestAKindRegisteredOnlyHereIsUsable registers a provider kind that no
// other file names, and follows it through everything that iterates the
// registry: the language takes its arguments (and refuses others), the
// residency policy finds its operator, the program makes its resources
// under its own types, the plugin checks its settings and lists its
// types, and Open reaches its constructor.
func TestAKindRegisteredOnlyHereIsUsable(t *testing.T) {
	var opened providers.Config
	providers.Register(&providers.Kind{
		Name:      "maple",
		Title:     "Maple Cloud",
		Settings:  []providers.Setting{{Name: "project", Required: true}, {Name: "region", Required: true}},
		Operators: []string{"maplecloud"},
		Types:     map[string]string{model.KindServer: "Machine", model.KindDatabase: "Database", model.KindBucket: "Bucket"},
		New: func(cfg providers.Config) (providers.Set, error) {
			opened = cfg
			return providers.Set{}, nil
		},
	})
	t.Cleanup(func() { providers.Unregister("maple") })
	// The catalog holds the facts about the company; the kind links to it.
	cat := catalog.Default()
	maple := *cat.Operator("vexxhost")
	maple.ID, maple.Name, maple.Owner.Company = "maplecloud", "Maple Cloud", "Maple Cloud Co-operative"
	cat.Operators = append(cat.Operators, &maple)

	res := config.LoadBytes("cosocial.hcl", []byte(mapleDescription))
	if res.Diagnostics.HasErrors() {
		t.Fatalf("the language refused the registered kind: %v", res.Diagnostics)
	}
	// The project line, replaced: without it, and with another kind's
	// argument beside it.
	for edit, want := range map[string]string{
		"":                                    `The argument "project" is required`,
		"project = \"coop\"\n  cloud = \"x\"": `An argument named "cloud" is not expected here`,
	} {
		src := strings.Replace(mapleDescription, `project = "coop"`, edit, 1)
		if d := config.LoadBytes("cosocial.hcl", []byte(src)).Diagnostics; !strings.Contains(d.Error(), want) {
			t.Errorf("with %q: %v, want %q", edit, d, want)
		}
	}

	judged := policy.Check(res.Description, cat, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
	if judged.Diagnostics.HasErrors() || !judged.Residency.Compliant {
		t.Fatalf("policy: %v, compliant %v", judged.Diagnostics, judged.Residency.Compliant)
	}
	for _, row := range judged.Residency.Rows {
		if row.Provider == "yul" && (row.Operator != "Maple Cloud" || row.Country != "CA") {
			t.Errorf("residency row %+v: not judged by the kind's operator", row)
		}
	}

	m := &mocks{regs: map[string]pulumi.MockResourceArgs{}}
	if err := pulumi.RunErr(stack.Program(res.Description, stack.ProgramOptions{Catalog: cat}), pulumi.WithMocks("cosocial-t", "production", m)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"server.web": "cosocial:maple:Machine", "database.main": "cosocial:maple:Database", "bucket.media": "cosocial:maple:Bucket"} {
		if got := m.regs[name].TypeToken; got != want {
			t.Errorf("%s registered as %q, want %q", name, got, want)
		}
	}

	prov := providerplugin.New(nil)
	ptype := tokens.Type("pulumi:providers:cosocial")
	check := func(inputs resource.PropertyMap) []plugin.CheckFailure {
		resp, err := prov.CheckConfig(context.Background(), plugin.CheckConfigRequest{Type: ptype, News: inputs})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Failures
	}
	in := resource.PropertyMap{"kind": resource.NewProperty("maple"), "region": resource.NewProperty("ca-ymq-1")}
	if f := check(in); len(f) != 1 || f[0].Property != "project" {
		t.Errorf("the plugin let a maple provider without its required project through: %v", f)
	}
	in["project"] = resource.NewProperty("coop")
	if f := check(in); len(f) != 0 {
		t.Errorf("the plugin refused a complete maple provider: %v", f)
	}
	schema, err := prov.GetSchema(context.Background(), plugin.GetSchemaRequest{})
	if err != nil || !strings.Contains(string(schema.Schema), `"cosocial:maple:Machine"`) {
		t.Errorf("the plugin's schema does not list the kind's types (%v)", err)
	}

	if _, err := providers.Open(providers.Config{Kind: "maple", Project: "coop", Region: "ca-ymq-1"}); err != nil || opened.Project != "coop" {
		t.Errorf("Open did not reach the kind's constructor: %v, %+v", err, opened)
	}
}
