package stack

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

const urnPrefix = "urn:pulumi:production::cosocial-t::"

func pre(op apitype.OpType, typ, name string, old, new map[string]any, detailed map[string]apitype.PropertyDiff) events.EngineEvent {
	m := apitype.StepEventMetadata{Op: op, URN: urnPrefix + typ + "::" + name, Type: typ, DetailedDiff: detailed}
	if old != nil {
		m.Old = &apitype.StepEventStateMetadata{Type: typ, Inputs: old, Outputs: old}
	}
	if new != nil {
		m.New = &apitype.StepEventStateMetadata{Type: typ, Inputs: new, Outputs: new}
	}
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: m}}}
}

func TestReplacementStepsMakeOneChange(t *testing.T) {
	p := newPlan()
	old := map[string]any{"image": "Debian 12", "userData": map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "[secret]"}}
	new := map[string]any{"image": "Ubuntu 24.04", "userData": "#cloud-config with a key in clear"}
	diff := map[string]apitype.PropertyDiff{"image": {Kind: apitype.DiffUpdateReplace}, "userData": {Kind: apitype.DiffUpdateReplace}}
	for _, op := range []apitype.OpType{apitype.OpCreateReplacement, apitype.OpReplace, apitype.OpDeleteReplaced} {
		p.add(pre(op, "cosocial:ovh:Instance", "server.web", old, new, diff))
	}
	p.add(pre(apitype.OpSame, "pulumi:providers:cosocial", "provider.bhs", nil, nil, nil))
	p.finish()
	if len(p.Changes) != 1 {
		t.Fatalf("changes = %+v", p.Changes)
	}
	c := p.Changes[0]
	if c.Address != "server.web" || c.Action != ActionReplace || len(c.Properties) != 2 {
		t.Fatalf("change = %+v", c)
	}
	for _, pc := range c.Properties {
		if pc.Name == "cloud_init" && (pc.Before != secretMask || pc.After != secretMask || !pc.Replace) {
			t.Errorf("cloud-init shown as %q → %q", pc.Before, pc.After)
		}
		if pc.Name == "image" && (pc.Before != `"Debian 12"` || pc.After != `"Ubuntu 24.04"`) {
			t.Errorf("image = %+v", pc)
		}
	}
	if strings.Contains(c.Properties[0].After+c.Properties[1].After, "in clear") {
		t.Error("a secret property's value reached the plan")
	}
}

func TestRefreshFindsDriftAndDeletion(t *testing.T) {
	p := newPlan()
	p.refresh = true
	p.add(pre(apitype.OpRefresh, "cosocial:ovh:Database", "database.main", map[string]any{"diskGb": 80.0}, map[string]any{"diskGb": 120.0}, nil))
	ev := pre(apitype.OpDelete, "cosocial:ovh:Instance", "server.web", map[string]any{"flavor": "b3-8"}, nil, nil)
	p.add(events.EngineEvent{EngineEvent: apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: ev.ResourcePreEvent.Metadata}}})
	p.add(pre(apitype.OpRefresh, "cosocial:ovh:Bucket", "bucket.media", map[string]any{"public": true}, map[string]any{"public": true}, nil))
	p.finish()
	got := map[string]string{}
	for _, c := range p.Changes {
		got[c.Address] = c.Action
	}
	if got["database.main"] != ActionDrift || got["server.web"] != ActionGone || got["bucket.media"] != ActionSame {
		t.Fatalf("refresh findings = %v", got)
	}
	if db := p.Changes[1]; db.Address == "database.main" && (len(db.Properties) != 1 || db.Properties[0].Name != "disk_gb" || db.Properties[0].After != "120") {
		t.Errorf("drifted property = %+v", db.Properties)
	}
}

func TestErrorsCarryTheProvidersWords(t *testing.T) {
	p := newPlan()
	p.add(events.EngineEvent{EngineEvent: apitype.EngineEvent{DiagnosticEvent: &apitype.DiagnosticEvent{
		URN: urnPrefix + "cosocial:ovh:Instance::server.web", Severity: "error",
		Message: "\x1b[31mOVHcloud API: Flavor b3-9 is not available in region BHS5 (Client::BadRequest)\x1b[0m\n",
	}}})
	if len(p.Errors) != 1 || p.Errors[0] != "server.web: OVHcloud API: Flavor b3-9 is not available in region BHS5 (Client::BadRequest)" {
		t.Fatalf("errors = %q", p.Errors)
	}
}

// TestChangesKeepWhatPricesThem: a change keeps the inputs its price
// depends on, as the state has them and as it will be; a replacement's
// three steps leave the old before and the new after; nothing else (a
// secret least of all) is kept.
func TestChangesKeepWhatPricesThem(t *testing.T) {
	p := newPlan()
	old := map[string]any{"flavor": "b3-8", "region": "BHS5", "userData": "secret"}
	bigger := map[string]any{"flavor": "b3-16", "region": "BHS5", "userData": "secret"}
	for _, op := range []apitype.OpType{apitype.OpCreateReplacement, apitype.OpReplace, apitype.OpDeleteReplaced} {
		p.add(pre(op, "cosocial:ovh:Instance", "server.web", old, bigger, nil))
	}
	p.add(pre(apitype.OpCreate, "cosocial:ovh:Database", "database.main", nil, map[string]any{"engine": "postgresql", "plan": "business", "flavor": "db1-15", "nodes": 2.0}, nil))
	p.add(pre(apitype.OpDelete, "cosocial:ovh:Instance", "server.old", old, nil, nil))
	p.finish()
	got := map[string]*Change{}
	for _, c := range p.Changes {
		got[c.Address] = c
	}
	if c := got["server.web"]; c.Before["flavor"] != "b3-8" || c.After["flavor"] != "b3-16" || c.After["userData"] != "" {
		t.Errorf("replacement: before %v, after %v", c.Before, c.After)
	}
	if c := got["database.main"]; c.Before != nil || c.After["nodes"] != "2" || c.After["plan"] != "business" {
		t.Errorf("create: before %v, after %v", c.Before, c.After)
	}
	if c := got["server.old"]; c.Before["flavor"] != "b3-8" || c.After != nil {
		t.Errorf("delete: before %v, after %v", c.Before, c.After)
	}
}
