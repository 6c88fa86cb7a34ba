package stack

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/model"
)

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
