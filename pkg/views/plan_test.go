package views

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cosocial/cosocial/internal/golden"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/pricing"
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

// TestPlanShowsTheCostChange: each priced change says what it does to the
// month, and the summary the total and the per-member figure, with the
// prices' date; an unpriced one says so.
func TestPlanShowsTheCostChange(t *testing.T) {
	up, none := pricing.Amount(3_139_000_000), pricing.Amount(0)
	h := header
	h.Cost = &pricing.Diff{
		Steps:   []pricing.StepCost{{Address: "server.web", Monthly: &up}, {Address: "database.main", Note: "no price"}, {Address: "bucket.podcasts", Monthly: &none}},
		Monthly: up, Members: 200, PerMemberYearly: up.Times(12.0 / 200), Unknown: []string{"database.main"},
		Lists: []pricing.ListUsed{{Kind: "ovh", Fetched: "2026-12-01", AgeDays: 3, Kept: true}},
	}
	var human, md, js bytes.Buffer
	Plan(&human, h, samplePlan(), nil, (&iostreams.IOStreams{}).ColorScheme())
	PlanMarkdown(&md, h, samplePlan(), nil)
	if err := WriteJSON(&js, NewPlanJSON(h, samplePlan(), nil)); err != nil {
		t.Fatal(err)
	}
	line := "Monthly cost: +CA$31.39/month, +CA$1.88 per member per year; unknown for database.main (prices: ovh's of 2026-12-01, 3 days old)."
	for name, out := range map[string]string{"text": human.String(), "markdown": md.String()} {
		for _, want := range []string{"+CA$31.39/month", "cost unknown", line} {
			if !strings.Contains(out, want) {
				t.Errorf("%s plan lacks %q:\n%s", name, want, out)
			}
		}
	}
	if strings.Contains(human.String(), "bucket.podcasts  create  CA$0.00") {
		t.Error("a change of nothing is written")
	}
	if !strings.Contains(js.String(), `"monthly_change": 3139000000`) {
		t.Errorf("JSON lacks the change:\n%s", js.String())
	}
}
