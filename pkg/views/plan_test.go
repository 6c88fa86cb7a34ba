package views

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cosocial/cosocial/internal/golden"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/stack"
)

func samplePlan() *stack.Plan {
	return &stack.Plan{
		Changes: []*stack.Change{
			{Address: "server.web", Type: "cosocial:ovh:Instance", Action: stack.ActionReplace, Properties: []stack.PropertyChange{
				{Name: "image", Action: "update", Replace: true, Before: `"Debian 12"`, After: `"Ubuntu 24.04"`},
				{Name: "cloud_init", Action: "update", Replace: true, Before: "(secret)", After: "(secret)"},
			}},
			{Address: "database.main", Type: "cosocial:ovh:Database", Action: stack.ActionUpdate, Protected: true, Properties: []stack.PropertyChange{
				{Name: "disk_gb", Action: "update", Before: "80", After: "120"},
			}},
			{Address: "bucket.media", Type: "cosocial:ovh:Bucket", Action: stack.ActionSame},
			{Address: "bucket.podcasts", Type: "cosocial:ovh:Bucket", Action: stack.ActionCreate},
		},
		Warnings: []string{"server.web: the provider is slow today"},
	}
}

var header = PlanHeader{Description: "stacks/cosocial", Stack: "production"}

func TestPlanRendering(t *testing.T) {
	rep := &policy.Report{Compliant: true, Waivers: []policy.WaiverStatus{{Name: "db", AppliedTo: []string{"database.main"}}}}
	var human, md bytes.Buffer
	Plan(&human, header, samplePlan(), rep, (&iostreams.IOStreams{}).ColorScheme())
	PlanMarkdown(&md, header, samplePlan(), rep)
	golden.Assert(t, "plan.txt", human.Bytes())
	golden.Assert(t, "plan.md", md.Bytes())
	for _, want := range []string{"REPLACE", "(forces replacement)", "disk_gb: 80 → 120", "Plan: 1 to create, 1 to update in place, 1 to replace, 0 to delete; 1 unchanged."} {
		if !strings.Contains(human.String(), want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if strings.Contains(human.String(), "bucket.media") {
		t.Error("an unchanged resource is listed")
	}
}

func TestPlanJSONHasNoNulls(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, NewPlanJSON(header, &stack.Plan{}, nil)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"changes": []`, `"warnings": []`, `"has_changes": false`, `"format_version": "1.0"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, buf.String())
		}
	}
}

func TestColorOnlyWhenAsked(t *testing.T) {
	var plain, colored bytes.Buffer
	Plan(&plain, header, samplePlan(), nil, (&iostreams.IOStreams{}).ColorScheme())
	ios, _, _, _ := iostreams.Test()
	ios.SetColor(true)
	Plan(&colored, header, samplePlan(), nil, ios.ColorScheme())
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("plain output holds escape codes")
	}
	if !strings.Contains(colored.String(), "\x1b[31m") || iostreams.Strip(colored.String()) != plain.String() {
		t.Error("coloured output differs from plain output by more than its colours")
	}
}
