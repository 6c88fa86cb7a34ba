package stack

// This file is the one place that words what the engine and the providers
// refused: the engine's own failures in the tool's terms (engineError),
// and each provider failure at the line of the description it is about
// (Diagnostics). The commands only render what comes out of here.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cosocial/cosocial/pkg/model"
)

// OperationError is an engine operation that failed, with what the
// engine and the providers said.
type OperationError struct {
	Op       string
	Messages []string
	Failures []Failure // those of Messages said of one resource
}

func (e *OperationError) Error() string {
	return e.Op + " failed:\n  " + strings.Join(e.Messages, "\n  ")
}

// engineError words a failure of the engine itself (not of a provider) in
// the tool's terms: what happened, what is safe, what to do. Failures it
// does not know keep the engine's words.
func engineError(op string, err error) error {
	msg := err.Error()
	if auto.IsConcurrentUpdateError(err) {
		return fmt.Errorf("%s: another cosocial command is running on this stack; wait for it to finish. Nothing was changed", op)
	}
	for _, k := range knownEngineFailures {
		if m := k.match.FindStringSubmatch(msg); m != nil {
			return &EngineFailure{Op: op, Summary: k.summary, Detail: k.detail(m)}
		}
	}
	return fmt.Errorf("%s: %s", op, strings.TrimSpace(msg))
}

// EngineFailure is an engine failure the tool can explain.
type EngineFailure struct {
	Op      string
	Summary string
	Detail  string
}

func (e *EngineFailure) Error() string { return e.Summary + ": " + e.Detail }

var knownEngineFailures = []struct {
	match   *regexp.Regexp
	summary string
	detail  func(match []string) string
}{
	{regexp.MustCompile(`incorrect passphrase`), "Wrong passphrase", func([]string) string {
		return "COSOCIAL_PASSPHRASE does not open this stack's secrets: it is not the passphrase the state was made with. Nothing was changed. " +
			"Set it to the one kept in the co-op's password manager; without it the database passwords and S3 keys in the state cannot be read."
	}},
	{regexp.MustCompile(`failed to load checkpoint[^\n]*|could not deserialize deployment[^\n]*`), "Damaged state", func(m []string) string {
		return fmt.Sprintf("the stack's state cannot be read (%s). Nothing was changed, and nothing will be until it is repaired: "+
			"the resources it records still run at the providers. Put back the last good copy: the engine keeps earlier ones under .pulumi/backups "+
			"in the state's folder or bucket (with a state bucket, also its object versions).", strings.TrimSpace(m[0]))
	}},
	{protected, "Protected resource", protectedDetail},
}

// protected is the engine's refusal to delete or replace a protected
// resource, which advises `pulumi state unprotect`: not what a volunteer
// should run.
var protected = regexp.MustCompile(`(?s)(?:resource|unable to replace resource) "?urn:pulumi:[^"\s]*::([a-z]+\.[^"\s]+?)"?\s+(?:cannot be deleted\s+because it is protected|as it is currently marked for protection)`)

func protectedDetail(m []string) string {
	return fmt.Sprintf("%s holds data, so cosocial protects it: a plain run never deletes or replaces it. Nothing was changed. "+
		"If the description changed so that it would be replaced, put that back as it was; to remove it with its data, run "+
		"`cosocial destroy --include-data --confirm <the co-op's domain>`.", m[1])
}

// Failure is an error the engine reported against one resource.
type Failure struct {
	Address string // "server.web", "provider.montreal"
	Message string
	line    string // as in OperationError.Messages
}

// checkFailure is how the engine words a property the plugin's Check
// refused: `<type> resource '<name>': property <p> value {<v>} has a
// problem: <reason>`.
var checkFailure = regexp.MustCompile(`property (\w+) value \{.*?\} has a problem: (.*)$`)

// providerFirst is a failure the plugin pinned on the provider block (a
// login refused), whichever resource asked first.
var providerFirst = regexp.MustCompile(`^(?:[^:]*: )?provider\.([A-Za-z0-9_-]+): (.*)$`)

// Diagnostics puts each failure at the line of the description it is
// about: a property the cloud refused at its attribute, credentials at the
// provider's block, anything else at the resource's. The messages that
// name nothing in the description come back as they are.
func (e *OperationError) Diagnostics(desc *model.Description) (diags hcl.Diagnostics, rest []string) {
	ix := model.NewIndex(desc)
	placed := map[string]bool{}
	for _, f := range e.Failures {
		msg := strings.TrimSpace(f.Message)
		if m := providerFirst.FindStringSubmatch(msg); m != nil {
			if p := ix.Providers[m[1]]; p != nil {
				// At the argument naming the credentials, if the kind
				// has one and the block gives it.
				subject := &p.Src.Decl
				if k := kindOf(p); k != nil && k.LoginSetting != "" {
					subject = p.Src.Attr(k.LoginSetting)
				}
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Logging in to the provider failed",
					Detail: fmt.Sprintf("provider.%s: %s", p.Name, m[2]), Subject: subject})
				placed[f.line] = true
				continue
			}
		}
		kind, name, ok := strings.Cut(f.Address, ".")
		if !ok {
			continue
		}
		r := ix.Resources[model.Addr{Kind: kind, Name: name}]
		if r == nil {
			// Records are named after their zone: dns.x/host/A.
			if before, _, found := strings.Cut(name, "/"); found {
				r = ix.Resources[model.Addr{Kind: kind, Name: before}]
			}
		}
		if r == nil {
			continue
		}
		src := r.Source()
		subject, summary := &src.Decl, "The provider refused "+r.Addr().String()
		if m := protected.FindStringSubmatch(msg); m != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Protected: " + r.Addr().String() + " holds data", Detail: protectedDetail(m), Subject: subject})
			placed[f.line] = true
			continue
		}
		if m := checkFailure.FindStringSubmatch(msg); m != nil {
			attr := attrOf(m[1])
			subject, summary, msg = src.Attr(attr), fmt.Sprintf("The provider refused %s", attr), m[2]
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: r.Addr().String() + ": " + msg, Subject: subject})
		placed[f.line] = true
	}
	for _, m := range e.Messages {
		if !placed[m] {
			rest = append(rest, m)
		}
	}
	return diags, rest
}

// Unfinished words, after an interrupt, the resources the operation left
// under way: the failures are then the interruption itself, not refusals.
// "" when none was.
func (e *OperationError) Unfinished() string {
	var addrs []string
	for _, f := range e.Failures {
		if !slices.Contains(addrs, f.Address) {
			addrs = append(addrs, f.Address)
		}
	}
	if len(addrs) == 0 {
		return ""
	}
	return fmt.Sprintf("Not finished because of the interrupt: %s. The engine recorded what it knows of them; the next run picks them up.", strings.Join(addrs, ", "))
}

// attrOf is the description's attribute for a plugin input: diskGb is
// disk_gb.
func attrOf(input string) string {
	var b strings.Builder
	for _, c := range input {
		if c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}
