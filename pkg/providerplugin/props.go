package providerplugin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// kind is the type of a resource property.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kStrings
	kStringMap
)

func (k kind) String() string {
	return [...]string{"a string", "a whole number", "true or false", "a list of strings", "a map of strings"}[k]
}

// prop describes one input of a resource: its type, whether it must be
// given, and whether changing it replaces the resource instead of updating
// it in place.
type prop struct {
	name     string
	kind     kind
	required bool
	replace  bool
	secret   bool
	// createOnly is read when the resource is made and never compared
	// after: a server's SSH keys are set at its first boot.
	createOnly bool
	// whenGiven is compared only when the new inputs carry it: a value
	// handed over once (the source's secrets at a cutover), whose absence
	// afterwards changes nothing.
	whenGiven bool
}

// props reads a property map, unwrapping secrets and outputs; the engine
// may send either around any value.
type props resource.PropertyMap

func plain(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return resource.MakeComputed(resource.NewProperty(""))
			}
			v = o.Element
		default:
			return v
		}
	}
}

func (p props) value(name string) (resource.PropertyValue, bool) {
	v, ok := p[resource.PropertyKey(name)]
	if !ok || v.IsNull() {
		return resource.PropertyValue{}, false
	}
	return plain(v), true
}

func (p props) text(name string) string {
	if v, ok := p.value(name); ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func (p props) int(name string) int {
	if v, ok := p.value(name); ok && v.IsNumber() {
		return int(v.NumberValue())
	}
	return 0
}

func (p props) bool(name string) bool {
	if v, ok := p.value(name); ok && v.IsBool() {
		return v.BoolValue()
	}
	return false
}

func (p props) textList(name string) []string {
	v, ok := p.value(name)
	if !ok || !v.IsArray() {
		return nil
	}
	out := []string{}
	for _, e := range v.ArrayValue() {
		if e = plain(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func (p props) textMap(name string) map[string]string {
	v, ok := p.value(name)
	if !ok || !v.IsObject() {
		return map[string]string{}
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		if e = plain(e); e.IsString() {
			out[string(k)] = e.StringValue()
		}
	}
	return out
}

// unknown reports whether a property's value is not known yet (a preview
// of something that depends on a resource still to be created).
func (p props) unknown(name string) bool {
	v, ok := p[resource.PropertyKey(name)]
	return ok && v.ContainsUnknowns()
}

// check validates inputs against a schema and returns them with only the
// known properties, failing each bad one with a plain reason.
func check(schema []prop, news resource.PropertyMap) (resource.PropertyMap, []failure) {
	in := props(news)
	out := resource.PropertyMap{}
	var fails []failure
	known := map[string]bool{}
	for _, s := range schema {
		known[s.name] = true
		raw, present := news[resource.PropertyKey(s.name)]
		if !present || raw.IsNull() {
			if s.required {
				fails = append(fails, failure{s.name, fmt.Sprintf("%s is required", s.name)})
			}
			continue
		}
		out[resource.PropertyKey(s.name)] = raw
		if in.unknown(s.name) {
			continue
		}
		v := plain(raw)
		ok := false
		switch s.kind {
		case kString:
			ok = v.IsString() && (v.StringValue() != "" || !s.required)
		case kInt:
			ok = v.IsNumber() && v.NumberValue() == float64(int(v.NumberValue())) && v.NumberValue() >= 0
		case kBool:
			ok = v.IsBool()
		case kStringMap:
			ok = v.IsObject()
			if ok {
				for _, e := range v.ObjectValue() {
					if e = plain(e); !e.IsString() && !e.ContainsUnknowns() {
						ok = false
					}
				}
			}
		case kStrings:
			ok = v.IsArray()
			if ok {
				for _, e := range v.ArrayValue() {
					if e = plain(e); !e.IsString() && !e.ContainsUnknowns() {
						ok = false
					}
				}
			}
		}
		if !ok {
			fails = append(fails, failure{s.name, fmt.Sprintf("%s must be %s", s.name, s.kind)})
		}
	}
	var extra []string
	for k := range news {
		if !known[string(k)] && !strings.HasPrefix(string(k), "__") {
			extra = append(extra, string(k))
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		fails = append(fails, failure{k, fmt.Sprintf("%s is not a property of this resource", k)})
	}
	return out, fails
}

type failure struct {
	property string
	reason   string
}

// stringsValue builds a property from a list of strings.
func stringsValue(ss []string) resource.PropertyValue {
	vals := make([]resource.PropertyValue, len(ss))
	for i, s := range ss {
		vals[i] = resource.NewProperty(s)
	}
	return resource.NewProperty(vals)
}

func secret(s string) resource.PropertyValue { return resource.MakeSecret(resource.NewProperty(s)) }

func secretMap(m map[string]string) resource.PropertyValue {
	pm := resource.PropertyMap{}
	for k, v := range m {
		pm[resource.PropertyKey(k)] = resource.NewProperty(v)
	}
	return resource.MakeSecret(resource.NewProperty(pm))
}
