package providerplugin

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/cosocial/cosocial/pkg/app"
)

// Every app the app package registers is a resource type of the plugin.
func TestEveryAppIsAResourceType(t *testing.T) {
	for _, name := range app.Names() {
		if _, err := lookup(tokens.Type(AppToken(name))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if AppToken("mastodon") != "cosocial:app:Mastodon" {
		t.Errorf("AppToken(mastodon) = %s", AppToken("mastodon"))
	}
}

// A new version is an in-place update (the upgrade), an older one is
// refused at check: the database was migrated forward.
func TestAppVersionChangesAreUpgradesNeverDowngrades(t *testing.T) {
	rt, _ := lookup(tokens.Type(AppToken("mastodon")))
	in := func(v string) resource.PropertyMap {
		return resource.PropertyMap{"server": resource.NewProperty("192.0.2.7"), "version": resource.NewProperty(v), "domain": resource.NewProperty("t.example.ca")}
	}
	d := rt.diff(in("4.3.2"), in("4.3.10"))
	if d.Changes != 2 || len(d.ReplaceKeys) != 0 || d.DetailedDiff["version"].Kind.String() != "update" {
		t.Errorf("4.3.2 → 4.3.10: %+v", d)
	}
	if d := rt.diff(in("4.3.2"), resource.PropertyMap{"server": resource.NewProperty("192.0.2.8"), "version": resource.NewProperty("4.3.2"), "domain": resource.NewProperty("t.example.ca")}); len(d.ReplaceKeys) != 1 {
		t.Errorf("a new server: %+v", d)
	}
	if f := rt.validate(props(in("4.3.10")), props(in("4.3.9"))); len(f) != 1 || !strings.Contains(f[0].reason, "never downgraded") {
		t.Errorf("4.3.10 → 4.3.9: %v", f)
	}
	if f := rt.validate(props(in("4.2.9")), props(in("4.3.0"))); len(f) != 0 {
		t.Errorf("4.2.9 → 4.3.0: %v", f)
	}
	// Mastodon's notes: 4.4 is reached from 4.3 only, without downtime.
	if f := rt.validate(props(in("4.2.9")), props(in("4.4.1"))); len(f) != 1 || !strings.Contains(f[0].reason, "last 4.3 release first") || !strings.Contains(f[0].reason, "releases/tag/v4.4.0") {
		t.Errorf("4.2.9 → 4.4.1: %v", f)
	}
	if f := rt.validate(props(in("4.3.8")), props(in("4.4.1"))); len(f) != 0 {
		t.Errorf("4.3.8 → 4.4.1: %v", f)
	}
}

// The relay's inputs make the deployment's SMTP settings; none, no mail.
func TestTheRelayInputsReachTheSpec(t *testing.T) {
	in := props(resource.PropertyMap{"smtpHost": resource.NewProperty("smtp.t.example.ca"), "smtpPort": resource.NewProperty(465.0),
		"smtpUser": resource.NewProperty("postmaster"), "smtpPassword": resource.MakeSecret(resource.NewProperty("pw")), "smtpFrom": resource.NewProperty("n@t.example.ca")})
	got := appSpec("mastodon", in).SMTP
	if got == nil || *got != (app.SMTP{Host: "smtp.t.example.ca", Port: 465, User: "postmaster", Password: "pw", From: "n@t.example.ca"}) {
		t.Errorf("SMTP = %+v", got)
	}
	if s := appSpec("mastodon", props(resource.PropertyMap{})); s.SMTP != nil {
		t.Errorf("no relay given, SMTP = %+v", s.SMTP)
	}
}
