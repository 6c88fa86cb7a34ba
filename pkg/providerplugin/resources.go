package providerplugin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// clouds are the capabilities of the provider this plugin instance was
// configured for; a capability the cloud lacks is nil.
type clouds struct {
	servers   provider.Servers
	databases provider.Databases
	buckets   provider.Buckets
	dns       provider.DNS
	zones     provider.Zones
	offers    provider.Offers
}

// resourceType is one kind of resource the plugin manages: its inputs, the
// outputs that stay the same through an in-place update, and its life
// cycle over one capability.
type resourceType struct {
	// leftover is what a killed create of this type may leave at the
	// provider unrecorded; empty where it leaves nothing worth finding.
	leftover provider.Kind
	inputs   []prop
	// stable outputs keep their value through an update: the engine can
	// show them in a preview.
	stable              []string
	deleteBeforeReplace bool
	// validate checks what the schema cannot (an engine, a downgrade).
	validate func(olds, news props) []failure
	// offered asks the cloud, when it can say, whether it offers what the
	// inputs ask for: a plan then fails in the cloud's words.
	offered func(ctx context.Context, c clouds, in props) ([]failure, error)
	capable func(clouds) bool
	create  func(ctx context.Context, c clouds, in props) (string, resource.PropertyMap, error)
	// read returns nil outputs when the resource is gone.
	read   func(ctx context.Context, c clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error)
	update func(ctx context.Context, c clouds, id string, old, in, out props) (resource.PropertyMap, error)
	delete func(ctx context.Context, c clouds, id string, in, out props) error
}

// cloudTypes are the life cycles of what a provider kind makes, by the
// resource its registration names a type for. Each kind's type names
// follow its own API (cosocial:ovh:Instance, cosocial:openstack:Server);
// the life cycles are the same, over the capability interfaces the kind's
// package implements.
var cloudTypes = map[string]*resourceType{
	model.KindServer:         serverType,
	model.KindDatabase:       databaseType,
	model.KindBucket:         bucketType,
	providers.ResourceRecord: recordType,
	providers.ResourceZone:   zoneType,
}

// appTypes are the services' resources, by token (apps.go).
var appTypes = map[tokens.Type]*resourceType{}

// typeOf finds a resource's life cycle by its token: an app's, or a
// registered kind's.
func typeOf(t tokens.Type) (*resourceType, bool) {
	if rt, ok := appTypes[t]; ok {
		return rt, true
	}
	_, res, ok := providers.ParseToken(string(t))
	if !ok || cloudTypes[res] == nil {
		return nil, false
	}
	return cloudTypes[res], true
}

// types are every resource, by token: the registered kinds' and the apps'
// (the schema lists them all).
func types() map[tokens.Type]*resourceType {
	out := maps.Clone(appTypes)
	for tok, res := range providers.Tokens() {
		if resType := cloudTypes[res]; resType != nil {
			out[tokens.Type(tok)] = resType
		}
	}
	return out
}

// LeftoverKind is what a killed create of a resource of type token may
// have left at its provider, or "" for nothing.
func LeftoverKind(token string) provider.Kind {
	if resType, ok := typeOf(tokens.Type(token)); ok {
		return resType.leftover
	}
	return ""
}

func lookup(t tokens.Type) (*resourceType, error) {
	resType, ok := typeOf(t)
	if !ok {
		return nil, fmt.Errorf("cosocial has no resource type %s", t)
	}
	return resType, nil
}

// diff compares old and new inputs by the type's schema and says, per
// property, whether it changes in place or forces a replacement.
func (resType *resourceType) diff(oldInputs, newInputs resource.PropertyMap) plugin.DiffResult {
	detailed := map[string]plugin.PropertyDiff{}
	var replaces, changed []resource.PropertyKey
	for _, p := range resType.inputs {
		if p.createOnly {
			continue
		}
		key := resource.PropertyKey(p.name)
		oldV, hadOld := oldInputs[key]
		newV, hasNew := newInputs[key]
		hadOld = hadOld && !oldV.IsNull()
		hasNew = hasNew && !newV.IsNull()
		if p.whenGiven && !hasNew {
			continue
		}
		var k plugin.DiffKind
		switch {
		case !hadOld && !hasNew:
			continue
		case !hadOld:
			k = plugin.DiffAdd
		case !hasNew:
			k = plugin.DiffDelete
		case newV.ContainsUnknowns():
			k = plugin.DiffUpdate
		case plain(oldV).DeepEquals(plain(newV)):
			continue
		default:
			k = plugin.DiffUpdate
		}
		if p.replace {
			k = map[plugin.DiffKind]plugin.DiffKind{plugin.DiffAdd: plugin.DiffAddReplace, plugin.DiffDelete: plugin.DiffDeleteReplace, plugin.DiffUpdate: plugin.DiffUpdateReplace}[k]
			replaces = append(replaces, key)
		}
		detailed[p.name] = plugin.PropertyDiff{Kind: k, InputDiff: true}
		changed = append(changed, key)
	}
	res := plugin.DiffResult{Changes: plugin.DiffNone, DetailedDiff: detailed, ReplaceKeys: replaces, ChangedKeys: changed}
	if len(changed) > 0 {
		res.Changes = plugin.DiffSome
		res.DeleteBeforeReplace = len(replaces) > 0 && resType.deleteBeforeReplace
	}
	if len(replaces) == 0 {
		for _, s := range resType.stable {
			res.StableKeys = append(res.StableKeys, resource.PropertyKey(s))
		}
	}
	return res
}

// outputs are a resource's inputs and what the cloud reports.
func outputs(in props, extra resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range in {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// gone turns "not found" into the nil outputs that tell the engine a
// resource no longer exists.
func gone(err error) (resource.PropertyMap, resource.PropertyMap, error) {
	if errors.Is(err, provider.ErrNotFound) {
		return nil, nil, nil
	}
	return nil, nil, err
}

// Instance: a server. A new flavor is an in-place resize; a new image,
// region, key or cloud-init is a new server.
var serverType = &resourceType{
	leftover: provider.KindServer,
	inputs: []prop{
		{name: "name", kind: kString, required: true, replace: true},
		{name: "region", kind: kString, required: true, replace: true},
		{name: "flavor", kind: kString, required: true},
		{name: "image", kind: kString, required: true, replace: true},
		{name: "sshKeys", kind: kStrings, replace: true},
		{name: "userData", kind: kString, replace: true, secret: true},
		// diskGb is a boot volume's size where the flavor has no disk of
		// its own (OpenStack clouds); 0 keeps the flavor's.
		{name: "diskGb", kind: kInt, replace: true},
	},
	stable:  []string{"ipv4", "ipv6", "hostKey", "loginKey"},
	capable: func(c clouds) bool { return c.servers != nil },
	offered: func(ctx context.Context, c clouds, in props) ([]failure, error) {
		return offered(ctx, c, in.text("flavor"), in.text("image"))
	},
	create: func(ctx context.Context, c clouds, in props) (string, resource.PropertyMap, error) {
		keys, err := withServerKeys(in.text("userData"))
		if err != nil {
			return "", nil, err
		}
		s, err := c.servers.CreateServer(ctx, provider.ServerSpec{
			Name: in.text("name"), Region: in.text("region"), Flavor: in.text("flavor"), Image: in.text("image"),
			SSHKeys: in.textList("sshKeys"), UserData: keys.userData, DiskGB: in.int("diskGb"),
		})
		var unfinished *provider.Unfinished
		if errors.As(err, &unfinished) {
			// Made, with these keys in its cloud-init: they are recorded
			// with it, or nothing could log in to it once finished.
			return "", nil, &partialCreate{ID: unfinished.ID, Err: err,
				Outputs: outputs(in, resource.PropertyMap{"hostKey": resource.NewProperty(keys.hostKey), "loginKey": secret(keys.loginKey)})}
		}
		if err != nil {
			return "", nil, err
		}
		return s.ID, outputs(in, serverOutputs(s, keys.hostKey, keys.loginKey)), nil
	},
	read: func(ctx context.Context, c clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
		s, err := c.servers.Server(ctx, id)
		if err != nil {
			return gone(err)
		}
		newIn := outputs(in, resource.PropertyMap{"name": resource.NewProperty(s.Name), "flavor": resource.NewProperty(s.Flavor), "region": resource.NewProperty(s.Region)})
		delete(newIn, "status")
		return newIn, outputs(in, serverOutputs(s, out.text("hostKey"), out.text("loginKey"))), nil
	},
	update: func(ctx context.Context, c clouds, id string, old, in, out props) (resource.PropertyMap, error) {
		// A server whose create was interrupted is finished here: the
		// engine sends it back for an update, and it must be running.
		s, err := provider.Wait(ctx, time.Second, 30*time.Minute,
			func(ctx context.Context) (*provider.Server, error) { return c.servers.Server(ctx, id) },
			func(s *provider.Server) (bool, error) {
				switch s.Status {
				case "ACTIVE":
					return true, nil
				case "ERROR":
					return false, fmt.Errorf("server %s is in ERROR at its provider: delete it (cosocial destroy, or at the provider), then run up again", s.Name)
				}
				provider.Report(ctx, "server %s: %s", s.Name, s.Status)
				return false, nil
			})
		if err == nil && old.text("flavor") != in.text("flavor") {
			s, err = c.servers.ResizeServer(ctx, id, in.text("flavor"))
		}
		if err != nil {
			return nil, err
		}
		return outputs(in, serverOutputs(s, out.text("hostKey"), out.text("loginKey"))), nil
	},
	delete: func(ctx context.Context, c clouds, id string, in, out props) error {
		return c.servers.DeleteServer(ctx, id)
	},
}

// serverOutputs are what the cloud says of a server, and the host and
// login keys the tool gave it (empty for a server made before the tool
// made them). The login key is a secret: the engine keeps it encrypted.
func serverOutputs(s *provider.Server, hostKey, loginKey string) resource.PropertyMap {
	out := resource.PropertyMap{
		"status": resource.NewProperty(s.Status),
		"ipv4":   resource.NewProperty(s.IPv4),
		"ipv6":   resource.NewProperty(s.IPv6),
	}
	if hostKey != "" {
		out["hostKey"] = resource.NewProperty(hostKey)
	}
	if loginKey != "" {
		out["loginKey"] = resource.MakeSecret(resource.NewProperty(loginKey))
	}
	return out
}

// Database: a managed cluster. Plan, flavor, disk and version change in
// place (a resize or an upgrade, never a replacement: a replacement would
// start from an empty database); engine and region are a new cluster.
var databaseType = &resourceType{
	leftover: provider.KindDatabase,
	inputs: []prop{
		{name: "name", kind: kString, required: true, replace: true},
		{name: "region", kind: kString, required: true, replace: true},
		{name: "engine", kind: kString, required: true, replace: true},
		{name: "version", kind: kString, required: true},
		{name: "plan", kind: kString},
		{name: "flavor", kind: kString, required: true},
		{name: "nodes", kind: kInt, required: true},
		{name: "diskGb", kind: kInt, required: true},
		{name: "databases", kind: kStrings},
		{name: "users", kind: kStrings},
		{name: "allowedIps", kind: kStrings},
		{name: "sshKeys", kind: kStrings, createOnly: true},
	},
	stable:  []string{"host", "port", "sslMode", "passwords"},
	capable: func(c clouds) bool { return c.databases != nil },
	// A database's flavor is a server's where the cloud runs it on one
	// (OpenStack); managed services' flavors are the catalog's to judge.
	offered: func(ctx context.Context, c clouds, in props) ([]failure, error) {
		return offered(ctx, c, in.text("flavor"), "")
	},
	validate: func(olds, news props) []failure {
		var fails []failure
		if e := news.text("engine"); e != "" && e != "postgresql" && e != "mysql" && e != "mariadb" {
			fails = append(fails, failure{"engine", fmt.Sprintf("engine must be postgresql, mysql or mariadb, not %q", e)})
		}
		if olds != nil && !news.unknown("version") && olds.text("version") != "" && majorOf(news.text("version")) < majorOf(olds.text("version")) {
			fails = append(fails, failure{"version", fmt.Sprintf("version %s is older than %s: a database's major version only goes up", news.text("version"), olds.text("version"))})
		}
		if olds != nil && !news.unknown("diskGb") && news.int("diskGb") < olds.int("diskGb") {
			fails = append(fails, failure{"diskGb", fmt.Sprintf("diskGb %d is smaller than %d: the tool never shrinks a database's disk", news.int("diskGb"), olds.int("diskGb"))})
		}
		return fails
	},
	create: func(ctx context.Context, c clouds, in props) (string, resource.PropertyMap, error) {
		db, passwords, err := c.databases.CreateDatabase(ctx, databaseSpec(in))
		if err != nil {
			return "", nil, err
		}
		return db.ID, outputs(in, databaseOutputs(db, passwords)), nil
	},
	read: func(ctx context.Context, c clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
		db, err := c.databases.Database(ctx, id)
		if err != nil {
			return gone(err)
		}
		newIn := outputs(in, resource.PropertyMap{
			"version": resource.NewProperty(db.Version), "plan": resource.NewProperty(db.Plan),
			"flavor": resource.NewProperty(db.Flavor), "diskGb": resource.NewProperty(float64(db.DiskGB)),
			"allowedIps": stringsValue(db.AllowedIPs),
		})
		return newIn, outputs(props(newIn), databaseOutputs(db, out.textMap("passwords"))), nil
	},
	update: func(ctx context.Context, c clouds, id string, old, in, out props) (resource.PropertyMap, error) {
		db, passwords, err := c.databases.UpdateDatabase(ctx, id, databaseSpec(old), databaseSpec(in))
		if err != nil {
			return nil, err
		}
		all := out.textMap("passwords")
		for u, p := range passwords {
			all[u] = p
		}
		return outputs(in, databaseOutputs(db, all)), nil
	},
	delete: func(ctx context.Context, c clouds, id string, in, out props) error {
		return c.databases.DeleteDatabase(ctx, id)
	},
}

func majorOf(v string) int {
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

func databaseSpec(in props) provider.DatabaseSpec {
	return provider.DatabaseSpec{
		Name: in.text("name"), Region: in.text("region"), Engine: in.text("engine"), Version: in.text("version"),
		Plan: in.text("plan"), Flavor: in.text("flavor"), Nodes: in.int("nodes"), DiskGB: in.int("diskGb"),
		Databases: in.textList("databases"), Users: in.textList("users"), AllowedIPs: in.textList("allowedIps"),
		SSHKeys: in.textList("sshKeys"),
	}
}

func databaseOutputs(db *provider.Database, passwords map[string]string) resource.PropertyMap {
	out := resource.PropertyMap{
		"status":    resource.NewProperty(db.Status),
		"host":      resource.NewProperty(db.Host),
		"port":      resource.NewProperty(float64(db.Port)),
		"sslMode":   resource.NewProperty(db.SSLMode),
		"passwords": secretMap(passwords),
	}
	if db.Backup != "" {
		out["backupBucket"] = resource.NewProperty(db.Backup)
	}
	return out
}

// Bucket: object storage with its own S3 credentials. Its name is global,
// so a new name deletes the old bucket first (and the engine refuses
// because buckets are protected).
var bucketType = &resourceType{
	leftover: provider.KindBucket,
	inputs: []prop{
		{name: "name", kind: kString, required: true, replace: true},
		{name: "region", kind: kString, required: true, replace: true},
		{name: "public", kind: kBool},
	},
	stable:              []string{"endpoint", "accessKey", "secretKey", "userId"},
	deleteBeforeReplace: true,
	capable:             func(c clouds) bool { return c.buckets != nil },
	create: func(ctx context.Context, c clouds, in props) (string, resource.PropertyMap, error) {
		b, creds, err := c.buckets.CreateBucket(ctx, provider.BucketSpec{Name: in.text("name"), Region: in.text("region"), Public: in.bool("public")})
		if err != nil {
			return "", nil, err
		}
		return b.ID, outputs(in, bucketOutputs(b, creds)), nil
	},
	read: func(ctx context.Context, c clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
		b, err := c.buckets.Bucket(ctx, id)
		if err != nil {
			return gone(err)
		}
		return resource.PropertyMap(in), outputs(in, bucketOutputs(b, credsOf(out))), nil
	},
	update: func(ctx context.Context, c clouds, id string, old, in, out props) (resource.PropertyMap, error) {
		b, err := c.buckets.SetBucketPublic(ctx, id, credsOf(out), in.bool("public"))
		if err != nil {
			return nil, err
		}
		return outputs(in, bucketOutputs(b, credsOf(out))), nil
	},
	delete: func(ctx context.Context, c clouds, id string, in, out props) error {
		return c.buckets.DeleteBucket(ctx, id)
	},
}

func credsOf(out props) provider.S3Credentials {
	return provider.S3Credentials{AccessKey: out.text("accessKey"), SecretKey: out.text("secretKey")}
}

func bucketOutputs(b *provider.Bucket, creds provider.S3Credentials) resource.PropertyMap {
	return resource.PropertyMap{
		"bucket":    resource.NewProperty(b.Name),
		"endpoint":  resource.NewProperty(b.Endpoint),
		"userId":    resource.NewProperty(b.UserID),
		"accessKey": secret(creds.AccessKey),
		"secretKey": secret(creds.SecretKey),
	}
}

// DnsRecord: a record in a zone the co-op holds. Its name, target and TTL
// change in place; its zone or type make a new record.
var recordType = &resourceType{
	inputs: []prop{
		{name: "zone", kind: kString, required: true, replace: true},
		{name: "name", kind: kString},
		{name: "type", kind: kString, required: true, replace: true},
		{name: "target", kind: kString, required: true},
		{name: "ttl", kind: kInt},
	},
	capable: func(c clouds) bool { return c.dns != nil },
	validate: func(olds, news props) []failure {
		if t := news.text("type"); t != "" && !slices.Contains([]string{"A", "AAAA", "CNAME", "TXT", "MX", "CAA"}, t) {
			return []failure{{"type", fmt.Sprintf("type must be one of A, AAAA, CNAME, TXT, MX, CAA, not %q", t)}}
		}
		return nil
	},
	create: func(ctx context.Context, c clouds, in props) (string, resource.PropertyMap, error) {
		r, err := c.dns.CreateRecord(ctx, recordSpec(in))
		if err != nil {
			return "", nil, err
		}
		return r.ID, outputs(in, nil), nil
	},
	read: func(ctx context.Context, c clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
		r, err := c.dns.Record(ctx, in.text("zone"), id)
		if err != nil {
			return gone(err)
		}
		newIn := outputs(in, resource.PropertyMap{"name": resource.NewProperty(r.Name), "target": resource.NewProperty(r.Target), "ttl": resource.NewProperty(float64(r.TTL))})
		return newIn, newIn, nil
	},
	update: func(ctx context.Context, c clouds, id string, old, in, out props) (resource.PropertyMap, error) {
		if _, err := c.dns.UpdateRecord(ctx, id, recordSpec(in)); err != nil {
			return nil, err
		}
		return outputs(in, nil), nil
	},
	delete: func(ctx context.Context, c clouds, id string, in, out props) error {
		return c.dns.DeleteRecord(ctx, in.text("zone"), id)
	},
}

func recordSpec(in props) provider.RecordSpec {
	return provider.RecordSpec{Zone: in.text("zone"), Name: in.text("name"), Type: strings.ToUpper(in.text("type")), Target: in.text("target"), TTL: in.int("ttl")}
}

// DnsZone: a zone the cloud's DNS service (Designate) holds for the co-op.
// Its contact and TTL change in place; another name is another zone. Its
// name servers are what the registrar must delegate to.
var zoneType = &resourceType{
	inputs: []prop{
		{name: "zone", kind: kString, required: true, replace: true},
		{name: "email", kind: kString, required: true},
		{name: "ttl", kind: kInt},
	},
	stable:  []string{"nameServers"},
	capable: func(c clouds) bool { return c.zones != nil },
	validate: func(olds, news props) []failure {
		if e := news.text("email"); e != "" && !strings.Contains(e, "@") {
			return []failure{{"email", fmt.Sprintf("email must be an address (the zone's SOA contact), not %q", e)}}
		}
		return nil
	},
	create: func(ctx context.Context, c clouds, in props) (string, resource.PropertyMap, error) {
		z, err := c.zones.CreateZone(ctx, zoneSpec(in))
		if err != nil {
			return "", nil, err
		}
		return z.ID, outputs(in, zoneOutputs(z)), nil
	},
	read: func(ctx context.Context, c clouds, id string, in, out props) (resource.PropertyMap, resource.PropertyMap, error) {
		z, err := c.zones.Zone(ctx, id)
		if err != nil {
			return gone(err)
		}
		newIn := outputs(in, resource.PropertyMap{"zone": resource.NewProperty(z.Name), "email": resource.NewProperty(z.Email), "ttl": resource.NewProperty(float64(z.TTL))})
		return newIn, outputs(props(newIn), zoneOutputs(z)), nil
	},
	update: func(ctx context.Context, c clouds, id string, old, in, out props) (resource.PropertyMap, error) {
		z, err := c.zones.UpdateZone(ctx, id, zoneSpec(in))
		if err != nil {
			return nil, err
		}
		return outputs(in, zoneOutputs(z)), nil
	},
	delete: func(ctx context.Context, c clouds, id string, in, out props) error {
		return c.zones.DeleteZone(ctx, id)
	},
}

func zoneSpec(in props) provider.ZoneSpec {
	return provider.ZoneSpec{Name: in.text("zone"), Email: in.text("email"), TTL: in.int("ttl")}
}

func zoneOutputs(z *provider.Zone) resource.PropertyMap {
	ns := []resource.PropertyValue{}
	for _, n := range z.NameServers {
		ns = append(ns, resource.NewProperty(n))
	}
	return resource.PropertyMap{"nameServers": resource.NewProperty(ns)}
}

// offered turns the cloud's answer on a flavor and an image into check
// failures; a cloud that cannot say has nothing to add.
func offered(ctx context.Context, c clouds, flavor, image string) ([]failure, error) {
	if c.offers == nil || flavor == "" {
		return nil, nil
	}
	problems, err := c.offers.CheckOffer(ctx, flavor, image)
	if err != nil {
		return nil, err
	}
	var fails []failure
	for _, p := range problems {
		fails = append(fails, failure{p.Field, p.Message})
	}
	return fails, nil
}
