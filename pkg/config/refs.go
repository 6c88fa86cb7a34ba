package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/didyoumean"
	"github.com/cosocial/cosocial/pkg/model"
)

// duplicates reports names declared twice. Provider names are unique across
// provider kinds because references spell only the name (provider.montreal).
func duplicates(desc *model.Description) hcl.Diagnostics {
	var diags hcl.Diagnostics
	providers := map[string]*model.Provider{}
	for _, p := range desc.Providers {
		if first, dup := providers[p.Name]; dup {
			diags = append(diags, duplicate("provider", p.Name, p.Src.Decl, first.Src.Decl))
			continue
		}
		providers[p.Name] = p
	}
	resources := map[model.Addr]model.Resource{}
	for _, r := range desc.Resources() {
		if first, dup := resources[r.Addr()]; dup {
			diags = append(diags, duplicate(kindWord(r.Addr().Kind), r.Addr().Name, r.Source().Decl, first.Source().Decl))
			continue
		}
		resources[r.Addr()] = r
	}
	services := map[model.Addr]*model.Service{}
	for _, s := range desc.Services {
		if first, dup := services[s.Addr()]; dup {
			diags = append(diags, duplicate(s.App+" service", s.Name, s.Src.Decl, first.Src.Decl))
			continue
		}
		services[s.Addr()] = s
	}
	return diags
}

// resolve checks that every reference names something declared.
func resolve(desc *model.Description, ix *model.Index) hcl.Diagnostics {
	var diags hcl.Diagnostics
	check := func(r model.Ref) {
		if r.Name == "" {
			return // the reference itself was invalid, and said so
		}
		if r.Kind == model.KindProvider {
			if _, ok := ix.Providers[r.Name]; ok {
				return
			}
		} else if _, ok := ix.Resources[r.Addr]; ok {
			return
		}
		diags = append(diags, undeclared(r, ix.Names(r.Kind)))
	}
	for _, r := range desc.Resources() {
		for _, dep := range r.Dependencies() {
			check(dep)
		}
	}
	for _, s := range desc.Services {
		for _, dep := range s.Dependencies() {
			check(dep)
		}
	}
	if desc.Policy != nil {
		for _, w := range desc.Policy.Waivers {
			for _, r := range w.Resources {
				check(r)
			}
		}
	}
	if desc.State != nil && desc.State.Bucket != nil {
		check(*desc.State.Bucket)
	}
	return diags
}

func undeclared(r model.Ref, declared []string) *hcl.Diagnostic {
	what := kindWord(r.Kind)
	detail := fmt.Sprintf("No %s named %q is declared.", what, r.Name)
	switch {
	case len(declared) == 0:
		detail += fmt.Sprintf(" This description declares no %s at all.", what)
	case didyoumean.Suggest(r.Name, declared) != "":
		detail += fmt.Sprintf(" Did you mean %s.%s?", r.Kind, didyoumean.Suggest(r.Name, declared))
	default:
		detail += fmt.Sprintf(" Declared: %s.", strings.Join(declared, ", "))
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared " + what,
		Detail:   detail,
		Subject:  r.Range.Ptr(),
	}
}

// cycles reports every set of resources that depend on each other in a
// circle (through depends_on), which no engine could create in any order.
// It is Tarjan's strongly-connected-components algorithm: linear in the
// number of references, so large descriptions stay fast.
func cycles(desc *model.Description) hcl.Diagnostics {
	type node struct {
		addr  model.Addr
		deps  []model.Ref
		index int
		low   int
		on    bool
	}
	var nodes []*node
	byAddr := map[model.Addr]*node{}
	for _, r := range desc.Resources() {
		if _, dup := byAddr[r.Addr()]; dup {
			continue
		}
		n := &node{addr: r.Addr(), deps: r.Dependencies(), index: -1}
		nodes = append(nodes, n)
		byAddr[n.addr] = n
	}

	var diags hcl.Diagnostics
	var stack []*node
	next := 0
	var visit func(n *node)
	visit = func(n *node) {
		n.index, n.low = next, next
		next++
		stack = append(stack, n)
		n.on = true
		for _, dep := range n.deps {
			m := byAddr[dep.Addr]
			if m == nil {
				continue
			}
			if m.index < 0 {
				visit(m)
				n.low = min(n.low, m.low)
			} else if m.on {
				n.low = min(n.low, m.index)
			}
		}
		if n.low != n.index {
			return
		}
		var scc []*node
		for {
			m := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			m.on = false
			scc = append(scc, m)
			if m == n {
				break
			}
		}
		members := map[model.Addr]bool{}
		for _, m := range scc {
			members[m.addr] = true
		}
		// The shortest way round the cycle from its root, found breadth-first
		// inside the component, reads in the order the references were written.
		type hop struct {
			from *node
			ref  *model.Ref
		}
		came := map[*node]hop{}
		queue := []*node{n}
		var last hop
		found := false
		for len(queue) > 0 && !found {
			cur := queue[0]
			queue = queue[1:]
			for i, dep := range cur.deps {
				m := byAddr[dep.Addr]
				if m == nil || !members[dep.Addr] {
					continue
				}
				if m == n {
					last, found = hop{cur, &cur.deps[i]}, true
					break
				}
				if _, seen := came[m]; !seen {
					came[m] = hop{cur, &cur.deps[i]}
					queue = append(queue, m)
				}
			}
		}
		if !found {
			return // a lone resource that does not depend on itself
		}
		path := []model.Addr{n.addr}
		at := last.ref.Range.Ptr()
		for h := last; h.from != n; h = came[h.from] {
			path = append(path, h.from.addr)
			at = came[h.from].ref.Range.Ptr()
		}
		// path holds the root, then the cycle walked backwards.
		for i, j := 1, len(path)-1; i < j; i, j = i+1, j-1 {
			path[i], path[j] = path[j], path[i]
		}
		path = append(path, n.addr)
		parts := make([]string, len(path))
		for i, a := range path {
			parts[i] = a.String()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reference cycle",
			Detail:   fmt.Sprintf("These resources depend on each other in a circle, so none of them can be created first: %s. Remove one of the depends_on entries.", strings.Join(parts, " → ")),
			Subject:  at,
		})
	}
	for _, n := range nodes {
		if n.index < 0 {
			visit(n)
		}
	}
	return diags
}
