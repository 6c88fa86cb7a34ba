package dbplan

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Rewrite sets a database block's disk_gb, and its flavor when flavor is
// not empty, in the source of one description file. Everything else —
// comments, alignment, other blocks — comes back byte for byte, so the
// change reads in a pull request as the one line it is.
//
// hclwrite renders the new values, but its File.Bytes formats the whole
// file on the way out, which would realign comments the co-op wrote by
// hand; so the values are spliced into the original bytes at the ranges
// the parser reports.
func Rewrite(src []byte, filename, database string, diskGB int, flavor string) ([]byte, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fmt.Errorf("%s is not native HCL syntax", filename)
	}
	var block *hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == "database" && len(b.Labels) == 1 && b.Labels[0] == database {
			block = b
			break
		}
	}
	if block == nil {
		return nil, fmt.Errorf("%s has no database %q block", filename, database)
	}
	edits := []edit{}
	set := func(name string, v cty.Value) {
		text := bytes.TrimSpace(hclwrite.TokensForValue(v).Bytes())
		if a, ok := block.Body.Attributes[name]; ok {
			r := a.Expr.Range()
			edits = append(edits, edit{r.Start.Byte, r.End.Byte, text})
			return
		}
		// A new attribute goes on its own line before the closing brace,
		// indented like the block's last attribute.
		at := block.CloseBraceRange.Start.Byte
		lineStart := bytes.LastIndexByte(src[:at], '\n') + 1
		indent := "  "
		if n := lastAttr(block.Body); n != nil {
			ls := bytes.LastIndexByte(src[:n.SrcRange.Start.Byte], '\n') + 1
			indent = string(src[ls:n.SrcRange.Start.Byte])
		}
		edits = append(edits, edit{lineStart, lineStart, []byte(indent + name + " = " + string(text) + "\n")})
	}
	set("disk_gb", cty.NumberIntVal(int64(diskGB)))
	if flavor != "" {
		set("flavor", cty.StringVal(flavor))
	}
	// Apply from the end so earlier offsets stay true.
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	out := append([]byte(nil), src...)
	for i := len(edits) - 1; i >= 0; i-- {
		e := edits[i]
		out = append(out[:e.start], append(append([]byte(nil), e.text...), out[e.end:]...)...)
	}
	return out, nil
}

type edit struct {
	start, end int
	text       []byte
}

func lastAttr(b *hclsyntax.Body) *hclsyntax.Attribute {
	var last *hclsyntax.Attribute
	for _, a := range b.Attributes {
		if last == nil || a.SrcRange.Start.Byte > last.SrcRange.Start.Byte {
			last = a
		}
	}
	return last
}
