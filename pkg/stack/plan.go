package stack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
)

// Actions a change can take.
const (
	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionReplace = "replace"
	ActionDelete  = "delete"
	ActionSame    = "same"
	ActionDrift   = "drift"
	ActionGone    = "gone"
)

// Plan is what an engine operation did or would do, resource by resource.
type Plan struct {
	Changes  []*Change
	Errors   []string
	Warnings []string
	// Failures are the errors the engine reported against a resource, by
	// the description's address, in the providers' words.
	Failures []Failure
	byURN    map[string]*Change
	mu       sync.Mutex // held while events arrive
	// refresh is set for refresh and drift: there the engine reports a
	// resource gone as a delete and one changed outside as an update.
	refresh bool
	// applying is set when the operation changes things: only then does a
	// step have a status.
	applying bool
}

// Change is one resource's step.
type Change struct {
	Address    string           `json:"address"`
	Type       string           `json:"type"`
	Action     string           `json:"action"`
	Protected  bool             `json:"protected"`
	Properties []PropertyChange `json:"properties"`
	// Status is "" for a planned step, "done" or "failed" once applied.
	Status string `json:"status,omitempty"`
	// Before and After are the inputs a price depends on (pricedInputs),
	// as the state has them and as the step leaves them: what a cost
	// estimate compares.
	Before map[string]string `json:"-"`
	After  map[string]string `json:"-"`
}

// pricedInputs are the plugin inputs that decide what a resource costs.
// None is secret.
var pricedInputs = []string{"flavor", "engine", "plan", "nodes", "region"}

func priced(in map[string]any) map[string]string {
	if in == nil {
		return nil
	}
	out := map[string]string{}
	for _, k := range pricedInputs {
		switch v := in[k].(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// PropertyChange is one property's change. Secret values never reach it.
type PropertyChange struct {
	Name    string `json:"name"`
	Action  string `json:"action"` // add, update, delete
	Replace bool   `json:"forces_replacement"`
	Before  string `json:"before"`
	After   string `json:"after"`
}

func newPlan() *Plan { return &Plan{byURN: map[string]*Change{}} }

// Counts are the number of changes per action.
func (p *Plan) Counts() map[string]int {
	c := map[string]int{ActionCreate: 0, ActionUpdate: 0, ActionReplace: 0, ActionDelete: 0, ActionSame: 0}
	for _, ch := range p.Changes {
		c[ch.Action]++
	}
	return c
}

// HasChanges says whether anything would be (or was) created, updated,
// replaced or deleted, or found drifted.
func (p *Plan) HasChanges() bool {
	for _, ch := range p.Changes {
		if ch.Action != ActionSame {
			return true
		}
	}
	return false
}

// engineInternal says that an engine resource (a provider, the stack
// itself) is one a volunteer has no use for in a plan.
func engineInternal(typ string) bool {
	return strings.HasPrefix(typ, "pulumi:providers:") || typ == "pulumi:pulumi:Stack"
}

func (p *Plan) add(e events.EngineEvent) {
	switch {
	case e.ResourcePreEvent != nil:
		p.step(e.ResourcePreEvent.Metadata, "")
	case e.ResOutputsEvent != nil:
		p.step(e.ResOutputsEvent.Metadata, "done")
	case e.ResOpFailedEvent != nil:
		p.step(e.ResOpFailedEvent.Metadata, "failed")
	case e.DiagnosticEvent != nil:
		d := e.DiagnosticEvent
		if d.Ephemeral {
			return
		}
		msg := strings.TrimSpace(stripColor(d.Message))
		if msg == "" {
			return
		}
		raw := msg
		if d.URN != "" {
			msg = addressOf(d.URN) + ": " + msg
		}
		switch d.Severity {
		case "error":
			p.Errors = append(p.Errors, msg)
			if d.URN != "" {
				p.Failures = append(p.Failures, Failure{Address: addressOf(d.URN), Message: raw, line: msg})
			}
		case "warning":
			p.Warnings = append(p.Warnings, msg)
		}
	}
}

// step folds one engine step into the resource's change. A replacement
// comes as three steps (create-replacement, replace, delete-replaced);
// they make one change.
func (p *Plan) step(m apitype.StepEventMetadata, status string) {
	action, ok := actionOf(m, p.refresh)
	if !ok {
		return
	}
	ch := p.byURN[m.URN]
	if ch == nil {
		ch = &Change{Address: addressOf(m.URN), Type: m.Type, Action: action, Properties: []PropertyChange{}}
		p.byURN[m.URN] = ch
		p.Changes = append(p.Changes, ch)
	}
	if precedence[action] > precedence[ch.Action] {
		ch.Action = action
	}
	if m.Old != nil && m.Old.Protect || m.New != nil && m.New.Protect {
		ch.Protected = true
	}
	if props := properties(m); len(props) > 0 {
		ch.Properties = props
	}
	// A replacement's steps come old first, then new: keep the first old
	// and the last new.
	if m.Old != nil && ch.Before == nil {
		ch.Before = priced(m.Old.Inputs)
	}
	if m.New != nil && m.Op != apitype.OpDeleteReplaced && m.Op != apitype.OpDelete {
		ch.After = priced(m.New.Inputs)
	}
	if !p.applying {
		return
	}
	if status == "failed" || (status == "done" && ch.Status != "failed") {
		ch.Status = status
	}
}

var precedence = map[string]int{ActionSame: 0, ActionUpdate: 1, ActionDrift: 1, ActionCreate: 2, ActionDelete: 2, ActionGone: 2, ActionReplace: 3}

// actionOf is the change an engine step makes to a resource the plan
// shows, or false for engine-internal resources and steps.
func actionOf(m apitype.StepEventMetadata, refresh bool) (string, bool) {
	if engineInternal(m.Type) {
		return "", false
	}
	switch m.Op {
	case apitype.OpCreate:
		return ActionCreate, true
	case apitype.OpUpdate:
		if refresh {
			return ActionDrift, true
		}
		return ActionUpdate, true
	case apitype.OpDelete:
		if refresh {
			return ActionGone, true
		}
		return ActionDelete, true
	case apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDeleteReplaced:
		return ActionReplace, true
	case apitype.OpSame:
		return ActionSame, true
	case apitype.OpRefresh:
		return refreshAction(m), true
	}
	return "", false
}

// Step is an engine event as progress: a resource starting ("" status),
// done or failed, or a provider's status line (Message).
type Step struct {
	Address string
	Action  string
	Status  string
	Message string
}

// StepOf reads an engine event as progress; false when it is not one.
func StepOf(e events.EngineEvent, refresh bool) (Step, bool) {
	switch {
	case e.ResourcePreEvent != nil:
		a, ok := actionOf(e.ResourcePreEvent.Metadata, refresh)
		return Step{Address: addressOf(e.ResourcePreEvent.Metadata.URN), Action: a}, ok
	case e.ResOutputsEvent != nil:
		a, ok := actionOf(e.ResOutputsEvent.Metadata, refresh)
		return Step{Address: addressOf(e.ResOutputsEvent.Metadata.URN), Action: a, Status: "done"}, ok
	case e.ResOpFailedEvent != nil:
		a, ok := actionOf(e.ResOpFailedEvent.Metadata, refresh)
		return Step{Address: addressOf(e.ResOpFailedEvent.Metadata.URN), Action: a, Status: "failed"}, ok
	case e.DiagnosticEvent != nil && e.DiagnosticEvent.Ephemeral && e.DiagnosticEvent.URN != "":
		msg := strings.TrimSpace(stripColor(e.DiagnosticEvent.Message))
		return Step{Address: addressOf(e.DiagnosticEvent.URN), Message: msg}, msg != ""
	}
	return Step{}, false
}

// refreshAction tells a refresh's finding: nothing, a resource changed
// outside the tool (drift), or one gone.
func refreshAction(m apitype.StepEventMetadata) string {
	switch {
	case m.New == nil || m.New.Delete:
		return ActionGone
	case m.Old == nil:
		return ActionSame
	}
	if len(diffMaps(m.Old.Inputs, m.New.Inputs)) > 0 || len(diffMaps(m.Old.Outputs, m.New.Outputs)) > 0 {
		return ActionDrift
	}
	return ActionSame
}

// properties lists the changed properties of a step, from the provider's
// detailed diff when it gave one.
func properties(m apitype.StepEventMetadata) []PropertyChange {
	var oldIn, newIn map[string]any
	if m.Old != nil {
		oldIn = m.Old.Inputs
	}
	if m.New != nil {
		newIn = m.New.Inputs
	}
	kinds := map[string]apitype.DiffKind{}
	for path, d := range m.DetailedDiff {
		name := topLevel(path)
		if prev, ok := kinds[name]; !ok || replaceKind(d.Kind) && !replaceKind(prev) {
			kinds[name] = d.Kind
		}
	}
	if len(kinds) == 0 {
		replace := map[string]bool{}
		for _, k := range m.Keys {
			replace[k] = true
		}
		for _, k := range m.Diffs {
			kind := apitype.DiffUpdate
			if replace[k] {
				kind = apitype.DiffUpdateReplace
			}
			kinds[topLevel(k)] = kind
		}
	}
	if m.Op == apitype.OpRefresh && m.Old != nil && m.New != nil {
		for _, k := range diffMaps(m.Old.Inputs, m.New.Inputs) {
			kinds[k] = apitype.DiffUpdate
		}
	}
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []PropertyChange{}
	for _, n := range names {
		k := kinds[n]
		pc := PropertyChange{Name: displayName(n), Replace: replaceKind(k), Before: render(n, oldIn, m.Old != nil), After: render(n, newIn, m.New != nil)}
		switch k {
		case apitype.DiffAdd, apitype.DiffAddReplace:
			pc.Action = "add"
		case apitype.DiffDelete, apitype.DiffDeleteReplace:
			pc.Action = "delete"
		default:
			pc.Action = "update"
		}
		out = append(out, pc)
	}
	return out
}

func replaceKind(k apitype.DiffKind) bool {
	return k == apitype.DiffAddReplace || k == apitype.DiffUpdateReplace || k == apitype.DiffDeleteReplace
}

func topLevel(path string) string {
	if i := strings.IndexAny(path, ".["); i > 0 {
		return path[:i]
	}
	return path
}

func diffMaps(a, b map[string]any) []string {
	var out []string
	for k, v := range b {
		if secretProperty(k) {
			continue
		}
		if x, ok := a[k]; !ok || fmt.Sprint(x) != fmt.Sprint(v) {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok && !secretProperty(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// secretProperty names properties whose values are secret whatever the
// engine's marking: the plan shows that they change, never what to.
func secretProperty(name string) bool {
	switch name {
	case "userData", "passwords", "accessKey", "secretKey", "password",
		"loginKey", "secrets", "dbPassword", "mediaAccessKey", "mediaSecretKey", "smtpPassword":
		return true
	}
	return false
}

const secretMask = "(secret)"

func render(name string, props map[string]any, present bool) string {
	if !present {
		return ""
	}
	v, ok := props[name]
	if !ok || v == nil {
		return ""
	}
	if secretProperty(name) || isSecretValue(v) {
		return secretMask
	}
	if s, ok := v.(string); ok {
		if s == sig.UnknownStringValue {
			return "(known after apply)"
		}
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return secretMask
	}
	out := string(b)
	if strings.Contains(out, "[secret]") || strings.Contains(out, resource.SigKey) {
		return secretMask
	}
	return strings.ReplaceAll(out, `"`+sig.UnknownStringValue+`"`, "(known after apply)")
}

func isSecretValue(v any) bool {
	if s, ok := v.(string); ok {
		return s == "[secret]"
	}
	if m, ok := v.(map[string]any); ok {
		_, sig := m[resource.SigKey]
		return sig
	}
	return false
}

// displayName is a property as the description spells it.
func displayName(n string) string {
	if n == "userData" {
		return "cloud_init"
	}
	// The language's spelling: diskGb is disk_gb, mediaHost media_host.
	var b strings.Builder
	for i, r := range n {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// addressOf turns a URN back into the description's address: the program
// names resources by address (server.web, database.main).
func addressOf(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m|<\{%[a-z]*%\}>`)

func stripColor(s string) string { return ansi.ReplaceAllString(s, "") }

func (p *Plan) finish() {
	sort.SliceStable(p.Changes, func(i, j int) bool { return order(p.Changes[i]) < order(p.Changes[j]) })
}

// order lists resources the way a description reads: servers, databases,
// buckets, DNS records.
func order(c *Change) int {
	for i, prefix := range []string{"server.", "database.", "bucket.", "dns."} {
		if strings.HasPrefix(c.Address, prefix) {
			return i
		}
	}
	return 4
}

// StateResource is a resource as the state records it.
type StateResource struct {
	URN     string `json:"urn"`
	Type    string `json:"type"`
	ID      string `json:"id"`
	Custom  bool   `json:"custom"`
	Protect bool   `json:"protect"`
}

// Address is a state resource's description address.
func (r StateResource) Address() string { return addressOf(r.URN) }
