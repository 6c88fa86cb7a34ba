package config

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cosocial/cosocial/pkg/didyoumean"
	"github.com/cosocial/cosocial/pkg/model"
)

// The language has no variables or functions: every value is a literal, so
// expressions are evaluated with a nil context and anything that needs more
// (a reference where a string belongs) is an error at that expression.

func literal(attr *hcl.Attribute) (cty.Value, hcl.Diagnostics) {
	val, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if val.IsNull() {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing value",
			Detail:   fmt.Sprintf("The argument %q needs a value; null is not allowed here.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return val, nil
}

func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "true or false"
	case t.IsTupleType() || t.IsListType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "an object"
	}
	return t.FriendlyName()
}

func wrongType(attr *hcl.Attribute, want string, got cty.Type) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Incorrect attribute value type",
		Detail:   fmt.Sprintf("The argument %q must be %s, not %s.", attr.Name, want, typeName(got)),
		Subject:  attr.Expr.Range().Ptr(),
	}}
}

func invalidValue(attr *hcl.Attribute, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid value for %q", attr.Name),
		Detail:   detail,
		Subject:  attr.Expr.Range().Ptr(),
	}
}

func stringValue(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	val, diags := literal(attr)
	if diags.HasErrors() {
		return "", diags
	}
	if val.Type() != cty.String {
		return "", wrongType(attr, "a string", val.Type())
	}
	return val.AsString(), nil
}

// nonEmptyString is stringValue for arguments where "" is never meant.
func nonEmptyString(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	s, diags := stringValue(attr)
	if !diags.HasErrors() && strings.TrimSpace(s) == "" {
		diags = append(diags, invalidValue(attr, fmt.Sprintf("The argument %q must not be empty.", attr.Name)))
	}
	return s, diags
}

// oneOf is stringValue restricted to a fixed set of words.
func oneOf(attr *hcl.Attribute, allowed []string) (string, hcl.Diagnostics) {
	s, diags := stringValue(attr)
	if diags.HasErrors() {
		return s, diags
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return s, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("%q is not one of %s.%s", s, quoteList(allowed), didyoumean.Hint(s, allowed)))}
}

func boolValue(attr *hcl.Attribute) (bool, hcl.Diagnostics) {
	val, diags := literal(attr)
	if diags.HasErrors() {
		return false, diags
	}
	if val.Type() != cty.Bool {
		return false, wrongType(attr, "true or false", val.Type())
	}
	return val.True(), nil
}

func numberValue(attr *hcl.Attribute) (*big.Float, hcl.Diagnostics) {
	val, diags := literal(attr)
	if diags.HasErrors() {
		return nil, diags
	}
	if val.Type() != cty.Number {
		return nil, wrongType(attr, "a number", val.Type())
	}
	if !val.IsKnown() {
		return nil, wrongType(attr, "a number", val.Type())
	}
	return val.AsBigFloat(), nil
}

// wholeNumber decodes a whole number no smaller than min.
func wholeNumber(attr *hcl.Attribute, min int64) (int, hcl.Diagnostics) {
	f, diags := numberValue(attr)
	if diags.HasErrors() {
		return 0, diags
	}
	// Numbers beyond a year's worth of anything are typos, not configurations;
	// the cap also keeps later arithmetic (disk sizes in bytes) from overflowing.
	const max = 1 << 40
	if !f.IsInt() {
		return 0, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("The argument %q must be a whole number.", attr.Name))}
	}
	i, acc := f.Int64()
	if acc != big.Exact || i < min || i > max {
		return 0, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("The argument %q must be a whole number from %d to %d.", attr.Name, min, int64(max)))}
	}
	return int(i), nil
}

func nonNegative(attr *hcl.Attribute) (float64, hcl.Diagnostics) {
	f, diags := numberValue(attr)
	if diags.HasErrors() {
		return 0, diags
	}
	v, _ := f.Float64()
	if v < 0 || v > 1e12 {
		return 0, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("The argument %q must be a number from 0 to 1000000000000.", attr.Name))}
	}
	return v, nil
}

func stringList(attr *hcl.Attribute) ([]string, hcl.Diagnostics) {
	val, diags := literal(attr)
	if diags.HasErrors() {
		return nil, diags
	}
	t := val.Type()
	if !(t.IsTupleType() || t.IsListType()) {
		return nil, wrongType(attr, "a list of strings", t)
	}
	var out []string
	for it := val.ElementIterator(); it.Next(); {
		_, v := it.Element()
		if v.IsNull() || v.Type() != cty.String {
			return nil, wrongType(attr, "a list of strings", t)
		}
		out = append(out, v.AsString())
	}
	return out, nil
}

// date decodes a calendar date written YYYY-MM-DD.
func date(attr *hcl.Attribute) (time.Time, hcl.Diagnostics) {
	s, diags := stringValue(attr)
	if diags.HasErrors() {
		return time.Time{}, diags
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("%q is not a date: write it as YYYY-MM-DD, for example \"2027-06-30\".", s))}
	}
	return t, nil
}

// duration decodes a positive Go duration such as "5m" or "1h30m".
func duration(attr *hcl.Attribute) (time.Duration, hcl.Diagnostics) {
	s, diags := stringValue(attr)
	if diags.HasErrors() {
		return 0, diags
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("%q is not a duration: write a positive number with a unit, for example \"5m\", \"90s\" or \"1h30m\".", s))}
	}
	return d, nil
}

var hostnameRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

// hostname decodes a fully qualified domain name in lower case.
func hostname(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	s, diags := stringValue(attr)
	if diags.HasErrors() {
		return s, diags
	}
	if len(s) > 253 || !hostnameRE.MatchString(s) {
		return s, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("%q is not a domain name: expected lower-case labels joined by dots, like \"social.example.ca\".", s))}
	}
	return s, nil
}

var countryRE = regexp.MustCompile(`^[A-Z]{2}$`)

func countryCode(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	s, diags := stringValue(attr)
	if diags.HasErrors() {
		return s, diags
	}
	if !countryRE.MatchString(s) {
		return s, hcl.Diagnostics{invalidValue(attr, fmt.Sprintf("%q is not a country code: expected two capital letters (ISO 3166-1), like \"CA\".", s))}
	}
	return s, nil
}

// reference decodes a traversal such as provider.montreal whose first step
// is one of kinds.
func reference(expr hcl.Expression, what string, kinds ...string) (model.Ref, hcl.Diagnostics) {
	example := kinds[0] + ".<name>"
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() {
		detail := fmt.Sprintf("Expected a reference to %s, like %s.", what, example)
		if _, isTemplate := expr.(*hclsyntax.TemplateExpr); isTemplate {
			detail += " Write it without quotes."
		}
		return model.Ref{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   detail,
			Subject:  expr.Range().Ptr(),
		}}
	}
	root := trav.RootName()
	attr, ok := trav[len(trav)-1].(hcl.TraverseAttr)
	if len(trav) != 2 || !ok {
		return model.Ref{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   fmt.Sprintf("Expected a reference to %s of the form %s.", what, example),
			Subject:  expr.Range().Ptr(),
		}}
	}
	for _, k := range kinds {
		if root == k {
			return model.Ref{Addr: model.Addr{Kind: root, Name: attr.Name}, Range: trav.SourceRange()}, nil
		}
	}
	return model.Ref{}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   fmt.Sprintf("Expected a reference to %s, like %s; %s.%s is a %s.", what, example, root, attr.Name, kindWord(root)),
		Subject:  expr.Range().Ptr(),
	}}
}

func kindWord(k string) string {
	switch k {
	case model.KindDNS:
		return "DNS zone"
	case model.KindServer, model.KindDatabase, model.KindBucket, model.KindProvider, model.KindService:
		return k
	}
	return "name this language does not know"
}

// referenceList decodes `[server.web, database.main]`.
func referenceList(attr *hcl.Attribute, what string, kinds ...string) ([]model.Ref, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference list",
			Detail:   fmt.Sprintf("The argument %q must be a list of references, like [%s.a, %s.b].", attr.Name, kinds[0], kinds[0]),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	refs := make([]model.Ref, 0, len(exprs))
	for _, e := range exprs {
		r, d := reference(e, what, kinds...)
		diags = append(diags, d...)
		if !d.HasErrors() {
			refs = append(refs, r)
		}
	}
	return refs, diags
}

func quoteList(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = fmt.Sprintf("%q", w)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
