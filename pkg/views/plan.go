package views

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"

	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/policy"
	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/stack"
)

// PlanHeader says what a plan is of.
type PlanHeader struct {
	Description string // the -f path
	Stack       string
	Sandbox     bool
	// Cost is what the plan does to the monthly cost; nil leaves it out.
	Cost *pricing.Diff
}

// costNote is a change's effect on the monthly cost, beside its line.
func costNote(d *pricing.Diff, address string) string {
	sc, ok := d.Of(address)
	switch {
	case !ok:
		return ""
	case sc.Monthly == nil:
		return "cost unknown"
	case *sc.Monthly == 0:
		return ""
	}
	return sc.Monthly.Signed() + "/month"
}

// costLine is the plan's total effect on the monthly cost, per member too.
func costLine(d *pricing.Diff) string {
	s := fmt.Sprintf("Monthly cost: %s/month", d.Monthly.Signed())
	if d.Members > 0 {
		s += fmt.Sprintf(", %s per member per year", d.PerMemberYearly.Signed())
	}
	if len(d.Unknown) > 0 {
		s += fmt.Sprintf("; unknown for %s", strings.Join(d.Unknown, ", "))
	}
	var from []string
	for _, l := range d.Lists {
		f := fmt.Sprintf("%s's of %s", l.Kind, l.Fetched)
		if l.Kept {
			f += fmt.Sprintf(", %s old", days(l.AgeDays))
		}
		if l.Sandbox {
			f += ", the sandbox's invented ones"
		}
		from = append(from, f)
	}
	if len(from) > 0 {
		s += " (prices: " + strings.Join(from, "; ") + ")"
	}
	return s + "."
}

func (h PlanHeader) String() string {
	where := h.Stack
	if h.Sandbox {
		where += ", on the sandbox"
	}
	return fmt.Sprintf("%s (stack %s)", h.Description, where)
}

var symbols = map[string]string{
	stack.ActionCreate: "+", stack.ActionUpdate: "~", stack.ActionReplace: "-/+", stack.ActionDelete: "-",
	stack.ActionDrift: "~", stack.ActionGone: "!", stack.ActionSame: " ",
}

var verbs = map[string]string{
	stack.ActionCreate: "create", stack.ActionUpdate: "update in place", stack.ActionReplace: "REPLACE",
	stack.ActionDelete: "delete", stack.ActionDrift: "changed outside cosocial", stack.ActionGone: "deleted outside cosocial",
}

func colorFor(action string, cs *iostreams.ColorScheme) func(string) string {
	switch action {
	case stack.ActionCreate:
		return cs.Green
	case stack.ActionUpdate, stack.ActionDrift:
		return cs.Yellow
	case stack.ActionReplace, stack.ActionDelete, stack.ActionGone:
		return cs.Red
	}
	return func(s string) string { return s }
}

// Plan writes a plan for people: each changing resource with the
// properties that change, replacements in red, then the residency verdict
// and a count.
func Plan(w io.Writer, h PlanHeader, p *stack.Plan, rep *policy.Report, cs *iostreams.ColorScheme) {
	fmt.Fprintf(w, "Plan for %s\n\n", h)
	changed := 0
	for _, c := range p.Changes {
		if c.Action == stack.ActionSame {
			continue
		}
		changed++
		color := colorFor(c.Action, cs)
		note := ""
		if c.Protected && (c.Action == stack.ActionReplace || c.Action == stack.ActionDelete) {
			note = cs.Bold(" (protected: holds data; the engine will refuse)")
		}
		if cost := costNote(h.Cost, c.Address); cost != "" {
			note += "  " + cost
		}
		fmt.Fprintf(w, "  %s %s  %s%s\n", color(fmt.Sprintf("%-3s", symbols[c.Action])), cs.Bold(c.Address), color(verbs[c.Action]), note)
		for _, pc := range c.Properties {
			line := fmt.Sprintf("%s: %s → %s", pc.Name, orNothing(pc.Before), orNothing(pc.After))
			if pc.Action == "add" {
				line = fmt.Sprintf("%s: %s", pc.Name, orNothing(pc.After))
			}
			if pc.Replace {
				line = cs.Red(line + "  (forces replacement)")
			}
			fmt.Fprintf(w, "        %s\n", line)
		}
	}
	if changed == 0 {
		fmt.Fprintln(w, "  No changes: the infrastructure matches the description.")
	}
	fmt.Fprintln(w)
	if rep != nil {
		fmt.Fprintf(w, "Residency: %s.\n", ResultLine(rep))
	}
	fmt.Fprintf(w, "%s\n", countLine(p, cs))
	if h.Cost != nil && changed > 0 {
		fmt.Fprintln(w, costLine(h.Cost))
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "%s %s\n", cs.Yellow("warning:"), warn)
	}
}

func orNothing(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func countLine(p *stack.Plan, cs *iostreams.ColorScheme) string {
	c := p.Counts()
	parts := []string{
		cs.Green(fmt.Sprintf("%d to create", c[stack.ActionCreate])),
		cs.Yellow(fmt.Sprintf("%d to update in place", c[stack.ActionUpdate])),
		cs.Red(fmt.Sprintf("%d to replace", c[stack.ActionReplace])),
		cs.Red(fmt.Sprintf("%d to delete", c[stack.ActionDelete])),
	}
	return fmt.Sprintf("Plan: %s; %d unchanged.", strings.Join(parts, ", "), c[stack.ActionSame])
}

// PlanJSON is the plan's JSON document.
type PlanJSON struct {
	FormatVersion string          `json:"format_version"`
	Description   string          `json:"description"`
	Stack         string          `json:"stack"`
	Sandbox       bool            `json:"sandbox"`
	HasChanges    bool            `json:"has_changes"`
	Changes       []*stack.Change `json:"changes"`
	Summary       map[string]int  `json:"summary"`
	Residency     *policy.Report  `json:"residency"`
	Warnings      []string        `json:"warnings"`
	// Cost is in hundred-millionths of a dollar, as cost's JSON.
	Cost *pricing.Diff `json:"cost,omitempty"`
}

// NewPlanJSON assembles the JSON document, with never-null arrays.
func NewPlanJSON(h PlanHeader, p *stack.Plan, rep *policy.Report) PlanJSON {
	changes := []*stack.Change{}
	for _, c := range p.Changes {
		if c.Action != stack.ActionSame {
			changes = append(changes, c)
		}
	}
	warnings := append([]string{}, p.Warnings...)
	return PlanJSON{FormatVersion: FormatVersion, Description: h.Description, Stack: h.Stack, Sandbox: h.Sandbox,
		HasChanges: p.HasChanges(), Changes: changes, Summary: p.Counts(), Residency: rep, Warnings: warnings, Cost: h.Cost}
}

// PlanMarkdown writes a plan for a pull-request comment.
func PlanMarkdown(w io.Writer, h PlanHeader, p *stack.Plan, rep *policy.Report) {
	fmt.Fprintf(w, "### cosocial plan: `%s`\n\n", h)
	c := p.Counts()
	fmt.Fprintf(w, "**%d to create, %d to update in place, %d to replace, %d to delete** (%d unchanged)\n\n",
		c[stack.ActionCreate], c[stack.ActionUpdate], c[stack.ActionReplace], c[stack.ActionDelete], c[stack.ActionSame])
	if rep != nil {
		mark := "✅"
		if !rep.Compliant {
			mark = "❌"
		}
		fmt.Fprintf(w, "%s Residency: %s.\n\n", mark, ResultLine(rep))
	}
	if !p.HasChanges() {
		fmt.Fprintln(w, "No changes: the infrastructure matches the description.")
		return
	}
	if h.Cost != nil {
		fmt.Fprintf(w, "💲 %s\n\n", costLine(h.Cost))
	}
	fmt.Fprintln(w, "| | Resource | Action | Changes |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, ch := range p.Changes {
		if ch.Action == stack.ActionSame {
			continue
		}
		var props []string
		for _, pc := range ch.Properties {
			s := fmt.Sprintf("`%s`: %s → %s", pc.Name, mdEscape(orNothing(pc.Before)), mdEscape(orNothing(pc.After)))
			if pc.Replace {
				s = "**" + s + " (forces replacement)**"
			}
			props = append(props, s)
		}
		icon := map[string]string{stack.ActionCreate: "🟢", stack.ActionUpdate: "🟡", stack.ActionReplace: "🔴", stack.ActionDelete: "🔴"}[ch.Action]
		action := verbs[ch.Action]
		if ch.Protected && (ch.Action == stack.ActionReplace || ch.Action == stack.ActionDelete) {
			action += " (protected)"
		}
		if cost := costNote(h.Cost, ch.Address); cost != "" {
			action += ", " + cost
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", icon, ch.Address, action, strings.Join(props, "<br>"))
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "\n> ⚠️ %s\n", mdEscape(warn))
	}
}

// Progress prints an operation's steps as they happen: one line when a
// resource starts, one when it is done, and the provider's status lines.
type Progress struct {
	w       io.Writer
	cs      *iostreams.ColorScheme
	started map[string]bool
}

// NewProgress returns a progress printer writing to w.
func NewProgress(w io.Writer, cs *iostreams.ColorScheme) *Progress {
	return &Progress{w: w, cs: cs, started: map[string]bool{}}
}

// Events feeds an applying operation's engine events to the printer.
func (p *Progress) Events() stack.Events {
	return func(e events.EngineEvent) {
		if step, ok := stack.StepOf(e, false); ok {
			p.Event(step)
		}
	}
}

// Event prints an engine event, if it is progress.
func (p *Progress) Event(step stack.Step) {
	if step.Message != "" {
		p.Status(step.Address, step.Message)
		return
	}
	p.Step(step.Address, step.Action, step.Status)
}

// Step reports a resource starting or finishing.
func (p *Progress) Step(address, action, status string) {
	if action == stack.ActionSame {
		return
	}
	switch status {
	case "":
		if !p.started[address] {
			p.started[address] = true
			fmt.Fprintf(p.w, "  %s %s…\n", colorFor(action, p.cs)(ing(action)), address)
		}
	case "done":
		fmt.Fprintf(p.w, "  %s %s %s\n", p.cs.Green("✓"), address, past(action))
	case "failed":
		fmt.Fprintf(p.w, "  %s %s failed\n", p.cs.Red("✗"), address)
	}
}

// Status prints a provider's progress line.
func (p *Progress) Status(address, message string) {
	fmt.Fprintf(p.w, "      %s\n", p.cs.Gray(message))
}

func ing(action string) string {
	return map[string]string{stack.ActionCreate: "creating", stack.ActionUpdate: "updating", stack.ActionReplace: "replacing", stack.ActionDelete: "deleting", stack.ActionDrift: "reading", stack.ActionGone: "reading"}[action]
}

func past(action string) string {
	return map[string]string{stack.ActionCreate: "created", stack.ActionUpdate: "updated", stack.ActionReplace: "replaced", stack.ActionDelete: "deleted", stack.ActionDrift: "read", stack.ActionGone: "read"}[action]
}

// Outputs prints the stack's plain outputs; secret ones are named, never
// shown.
func Outputs(w io.Writer, outputs map[string]string, secrets []string) {
	if len(outputs) == 0 && len(secrets) == 0 {
		return
	}
	fmt.Fprintln(w, "\nOutputs:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range sortedKeys(outputs) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, outputs[k])
	}
	for _, k := range secrets {
		fmt.Fprintf(tw, "  %s\t(secret, kept encrypted in the state)\n", k)
	}
	tw.Flush()
}

// Drift writes what a refresh found: resources changed or deleted outside
// cosocial, with the properties that differ from the state.
func Drift(w io.Writer, h PlanHeader, p *stack.Plan, applied bool, cs *iostreams.ColorScheme) {
	verb := "Drift"
	if applied {
		verb = "Refresh"
	}
	fmt.Fprintf(w, "%s of %s\n\n", verb, h)
	drifted, read := 0, 0
	for _, c := range p.Changes {
		read++
		if c.Action != stack.ActionDrift && c.Action != stack.ActionGone {
			continue
		}
		drifted++
		color := colorFor(c.Action, cs)
		fmt.Fprintf(w, "  %s %s  %s\n", color(fmt.Sprintf("%-3s", symbols[c.Action])), cs.Bold(c.Address), color(verbs[c.Action]))
		for _, pc := range c.Properties {
			fmt.Fprintf(w, "        %s: %s in the state, %s at the provider\n", pc.Name, orNothing(pc.Before), orNothing(pc.After))
		}
	}
	switch {
	case drifted == 0:
		fmt.Fprintf(w, "  No drift: all %d resources match the state.\n", read)
	case applied:
		fmt.Fprintf(w, "\n%d of %d resources differed; the state now records what the providers have. Run `cosocial plan` to see what up would change back.\n", drifted, read)
	default:
		fmt.Fprintf(w, "\n%d of %d resources differ from the state. `cosocial refresh` records what the providers have; `cosocial up` puts the description back.\n", drifted, read)
	}
}
