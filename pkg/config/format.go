package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns a description file in the language's canonical layout
// (hclwrite's: aligned equals signs, two-space indents, normalised
// spacing). A file that does not parse is returned unchanged with its
// syntax errors, so that nothing half-understood is ever rewritten. A file
// from disk is read with ReadSource first, which screens it.
func Format(name string, src []byte) ([]byte, hcl.Diagnostics) {
	if _, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return src, diags
	}
	return hclwrite.Format(src), nil
}
