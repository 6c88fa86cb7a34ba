// Package providers is the registry of provider kinds, as rclone's backends
// register themselves with fs.Register: each folder under pkg/provider
// registers its kind once (the provider block's settings, the catalog's
// operators that run its API, the engine's resource types, its
// constructor and what the sandbox prepares for it), and the language, the
// policy, the program, the plugin, init and the sandbox's setup iterate the
// registry instead of naming kinds. pkg/provider/all links every kind in.
package providers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/pricing"
)

// The resources a kind makes besides model's servers, databases and
// buckets: DNS records in a zone, and the zones where the cloud makes them.
const (
	ResourceRecord = "record"
	ResourceZone   = "zone"
)

// Kind is one provider kind's registration.
type Kind struct {
	// Name is the provider block's first label: provider "<Name>" "x".
	Name string
	// Title is how messages name the cloud ("OVHcloud").
	Title string
	// Settings are the provider block's arguments, in the order the
	// documentation lists them; any other argument is refused.
	Settings []Setting
	// Operators are the IDs, in the catalog, of the companies running
	// this API. Open says that anyone may run it (OpenStack): a provider
	// is then matched to its operator, never assumed to be the first.
	Operators []string
	Open      bool
	// Types are the engine's resource types the kind stands up, by
	// resource ("server", "database", "bucket", "record", "zone"): the
	// token is cosocial:<Name>:<type>. A kind without types is read (a
	// migration's source), never stood up.
	Types map[string]string
	// New connects to the cloud; nil with Types.
	New func(Config) (Set, error)
	// SelfRunDatabases says that the tool runs the kind's databases on
	// servers of its own (no managed service): they take the
	// volunteers' SSH keys and back up to a bucket of their own.
	SelfRunDatabases bool
	// LoginSetting is the argument that says which credentials are used
	// (a clouds.yaml entry), where a failed login is reported; "" puts it
	// on the provider block.
	LoginSetting string
	// Sandbox is what the sandbox prepares for a provider of this kind.
	Sandbox Sandbox
	// Prices reads the kind's published price list for a provider of
	// the kind, live (env may point it at the sandbox, as New's is); nil
	// where the cloud publishes none.
	Prices func(ctx context.Context, p *model.Provider, env map[string]string, now time.Time) (*pricing.List, error)
	// Starter is the template init writes for this kind, under
	// templates/description/starter; "" when init does not offer it.
	Starter string
}

// Setting is one argument of a provider block.
type Setting struct {
	Name     string
	Required bool
	// Values, when set, are the only words the argument takes; with
	// OrURL a value holding "/" is taken as a literal URL instead (how
	// the sandbox is reached).
	Values []string
	OrURL  bool
}

// Sandbox is a kind's part in starting the sandbox.
type Sandbox struct {
	// Projects are the accounts the kind's simulator must hold for a
	// provider block (an OVHcloud project).
	Projects func(p *model.Provider) []string
	// EndpointEnv names the variable of the sandbox's environment that
	// replaces the provider's API endpoint: the state bucket is reached
	// through it from this process.
	EndpointEnv string
	// Prepare writes what the kind's own clients read (clouds.yaml) into
	// the sandbox's folder dir, from the sandbox's environment, and adds
	// to env where they find it.
	Prepare func(ps []*model.Provider, dir string, env map[string]string) error
}

var (
	mu    sync.RWMutex
	kinds = map[string]*Kind{}
)

// Register adds a kind; a kind's package calls it from init. A second
// registration under one name is a programming error.
func Register(k *Kind) {
	mu.Lock()
	defer mu.Unlock()
	if k.Name == "" {
		panic("providers: a kind without a name")
	}
	if _, dup := kinds[k.Name]; dup {
		panic("providers: kind " + k.Name + " registered twice")
	}
	if (k.New == nil) != (len(k.Types) == 0) {
		panic("providers: kind " + k.Name + " needs both a constructor and resource types, or neither")
	}
	kinds[k.Name] = k
}

// Unregister removes a kind; for tests that register one of their own.
func Unregister(name string) {
	mu.Lock()
	defer mu.Unlock()
	delete(kinds, name)
}

// Lookup finds a registered kind.
func Lookup(name string) (*Kind, bool) {
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// All lists the registered kinds by name.
func All() []*Kind {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]*Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered kinds' names, sorted.
func Names() []string {
	var out []string
	for _, k := range All() {
		out = append(out, k.Name)
	}
	return out
}

// Setting finds one of the kind's arguments.
func (k *Kind) Setting(name string) (Setting, bool) {
	i := slices.IndexFunc(k.Settings, func(s Setting) bool { return s.Name == name })
	if i < 0 {
		return Setting{}, false
	}
	return k.Settings[i], true
}

// Token is the engine's resource type for a resource of this kind
// ("server", "database", ...), or "" when the kind does not make it.
func (k *Kind) Token(resource string) string {
	t, ok := k.Types[resource]
	if !ok {
		return ""
	}
	return "cosocial:" + k.Name + ":" + t
}

// ParseToken reads a resource type of a registered kind: its kind and the
// resource it makes.
func ParseToken(token string) (kind, resource string, ok bool) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "cosocial" {
		return "", "", false
	}
	k, found := Lookup(parts[1])
	if !found {
		return "", "", false
	}
	for res, typ := range k.Types {
		if typ == parts[2] {
			return k.Name, res, true
		}
	}
	return "", "", false
}

// Tokens lists every registered resource type: token to resource.
func Tokens() map[string]string {
	out := map[string]string{}
	for _, k := range All() {
		for res := range k.Types {
			out[k.Token(res)] = res
		}
	}
	return out
}

// CatalogKind is the kind's entry in a catalog: the catalog's operators
// that run its API. Nil for a kind nobody registered.
func CatalogKind(cat *catalog.Catalog, name string) *catalog.Kind {
	k, ok := Lookup(name)
	if !ok {
		return nil
	}
	ck := &catalog.Kind{Kind: name, Title: k.Title, Open: k.Open}
	for _, id := range k.Operators {
		if op := cat.Operator(id); op != nil {
			ck.Operators = append(ck.Operators, op)
		}
	}
	return ck
}

// DatabaseNodes is the node count of a database's plan at a provider of
// this catalog's kind in region, as the catalog says (OVHcloud's business
// plan runs two); 1 when it does not say.
func DatabaseNodes(cat *catalog.Catalog, kind, region string, d *model.Database) int {
	if ck := CatalogKind(cat, kind); ck != nil {
		for _, op := range ck.Operators {
			if r := op.Region(region); r != nil {
				if offer := r.Database(d.Engine); offer != nil {
					if plan := offer.Plan(d.Plan); plan != nil && plan.Nodes > 0 {
						return plan.Nodes
					}
				}
			}
		}
	}
	return 1
}

// Standable says whether the tool stands up resources of this kind, or
// why not.
func (k *Kind) Standable() error {
	if k.New == nil {
		var can []string
		for _, o := range All() {
			if o.New != nil {
				can = append(can, o.Name)
			}
		}
		return fmt.Errorf("the tool reads %s providers (a migration's source) but does not stand resources up there; it stands them up at %s", k.Title, strings.Join(can, " and "))
	}
	return nil
}
