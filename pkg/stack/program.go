package stack

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cosocial/cosocial/pkg/app"
	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/providers"
	"github.com/cosocial/cosocial/pkg/providerplugin"
	"github.com/cosocial/cosocial/templates"
)

// ProgramOptions shape the inline program.
type ProgramOptions struct {
	Catalog *catalog.Catalog
	// Endpoints replace a provider's API endpoint by provider name (the
	// sandbox's simulators).
	Endpoints map[string]string
	// DataOnly keeps only the data-bearing resources (databases, buckets):
	// applying it is how destroy removes everything else while the
	// protected data stays, reachable from nowhere.
	DataOnly bool
	// InternalTLS has the services' Caddy issue certificates from its own
	// CA instead of Let's Encrypt: the sandbox, which no CA can reach.
	InternalTLS bool
	// AwaitingCutover are the services (by address) whose data a
	// migration has not moved yet: their files are written and nothing
	// is started until the cutover, which starts them.
	AwaitingCutover map[string]bool
	// AdoptSecrets are, by service address, the secrets a migration's
	// cutover takes from the source for the service's secrets resource
	// (Stack.AdoptSecrets).
	AdoptSecrets map[string]map[string]string
	// LookupEnv reads the secrets the description names by environment
	// variable (a mail relay's password); os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
}

// Resource state structs: RegisterResource fills the output fields the
// program uses to wire resources together and to export.
type serverState struct {
	pulumi.CustomResourceState
	IPv4 pulumi.StringOutput `pulumi:"ipv4"`
	IPv6 pulumi.StringOutput `pulumi:"ipv6"`
	// HostKey is the SSH host key the plugin gave the server at its
	// creation (authorized_keys form): connections check it.
	HostKey pulumi.StringOutput `pulumi:"hostKey"`
	// LoginKey is the private key the plugin made for the tool to log in
	// with: a secret, kept encrypted in the state.
	LoginKey pulumi.StringOutput `pulumi:"loginKey"`
}

type databaseState struct {
	pulumi.CustomResourceState
	Host      pulumi.StringOutput    `pulumi:"host"`
	Port      pulumi.IntOutput       `pulumi:"port"`
	Passwords pulumi.StringMapOutput `pulumi:"passwords"`
	SSLMode   pulumi.StringOutput    `pulumi:"sslMode"`
	// BackupBucket is where the tool's nightly dumps go, for a database it
	// runs itself (OpenStack).
	BackupBucket pulumi.StringPtrOutput `pulumi:"backupBucket"`
}

type bucketState struct {
	pulumi.CustomResourceState
	Bucket    pulumi.StringOutput `pulumi:"bucket"`
	Endpoint  pulumi.StringOutput `pulumi:"endpoint"`
	AccessKey pulumi.StringOutput `pulumi:"accessKey"`
	SecretKey pulumi.StringOutput `pulumi:"secretKey"`
}

type recordState struct {
	pulumi.CustomResourceState
}

type secretsState struct {
	pulumi.CustomResourceState
	Secrets pulumi.StringMapOutput `pulumi:"secrets"`
}

type zoneState struct {
	pulumi.CustomResourceState
	NameServers pulumi.StringArrayOutput `pulumi:"nameServers"`
}

// kindOf is a provider's registered kind; nil for a kind nobody
// registered, which the language already refused.
func kindOf(p *model.Provider) *providers.Kind {
	k, _ := providers.Lookup(p.Kind)
	return k
}

// Program is the inline Pulumi program for a description: one explicit
// provider per provider block, one resource per server, database and
// bucket (the state bucket excepted: it holds this stack's own state), and
// the DNS records that point each service's names at its server. Databases
// and buckets are protected: only `destroy --include-data` removes them.
func Program(desc *model.Description, opts ProgramOptions) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		b := &builder{ctx: ctx, desc: desc, opts: opts, ix: model.NewIndex(desc),
			providers: map[string]*pulumi.ProviderResourceState{}, servers: map[string]*serverState{},
			databases: map[string]*databaseState{}, buckets: map[string]*bucketState{}, zones: map[string]*zoneState{},
			secrets: map[string]*secretsState{}}
		if b.opts.Catalog == nil {
			b.opts.Catalog = catalog.Default()
		}
		return b.build()
	}
}

type builder struct {
	ctx       *pulumi.Context
	desc      *model.Description
	opts      ProgramOptions
	ix        *model.Index
	providers map[string]*pulumi.ProviderResourceState
	servers   map[string]*serverState
	databases map[string]*databaseState
	buckets   map[string]*bucketState
	zones     map[string]*zoneState
	secrets   map[string]*secretsState // by service address
}

func (b *builder) build() error {
	for _, p := range b.desc.Providers {
		if err := b.provider(p); err != nil {
			return err
		}
	}
	if !b.opts.DataOnly {
		for _, s := range b.desc.Servers {
			if err := b.server(s); err != nil {
				return err
			}
		}
	}
	for _, d := range b.desc.Databases {
		if err := b.database(d); err != nil {
			return err
		}
	}
	for _, bk := range b.desc.Buckets {
		if b.isStateBucket(bk) {
			continue
		}
		if err := b.bucket(bk); err != nil {
			return err
		}
	}
	// Zones stay with the data: deleting one takes every record in it,
	// mail's included, which this stack does not all hold.
	for _, z := range b.desc.DNS {
		if err := b.zone(z); err != nil {
			return err
		}
	}
	// So do the services' secrets: what the apps encrypted in their
	// databases needs them.
	for _, s := range b.desc.Services {
		if err := b.appSecrets(s); err != nil {
			return err
		}
	}
	if b.opts.DataOnly {
		return nil
	}
	for _, s := range b.desc.Services {
		if err := b.records(s); err != nil {
			return err
		}
		if err := b.service(s); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) isStateBucket(bk *model.Bucket) bool {
	st := b.desc.State
	return st != nil && st.Backend == model.BackendS3 && st.Bucket != nil && st.Bucket.Name == bk.Name
}

// token finds the resource type for a resource's provider kind.
func (b *builder) token(r model.Resource, kind string) (string, *model.Provider, error) {
	p := b.ix.Provider(r)
	var tok string
	if k := kindOf(p); k != nil {
		tok = k.Token(kind)
	}
	if tok == "" {
		return "", nil, fmt.Errorf("%s is at provider.%s (%s): plan and up do not stand up %s resources yet", r.Addr(), p.Name, p.Kind, p.Kind)
	}
	return tok, p, nil
}

func (b *builder) provider(p *model.Provider) error {
	if k := kindOf(p); k == nil || k.New == nil {
		return nil // reported at the first resource that uses it
	}
	endpoint := p.Endpoint
	if e, ok := b.opts.Endpoints[p.Name]; ok {
		endpoint = e
	}
	args := pulumi.Map{
		"kind":   pulumi.String(p.Kind),
		"region": pulumi.String(p.Region),
	}
	for k, v := range map[string]string{"endpoint": endpoint, "project": p.Project, "cloud": p.Cloud, "operator": p.Operator} {
		if v != "" {
			args[k] = pulumi.String(v)
		}
	}
	var state pulumi.ProviderResourceState
	if err := b.ctx.RegisterResource("pulumi:providers:cosocial", "provider."+p.Name, args, &state); err != nil {
		return err
	}
	b.providers[p.Name] = &state
	return nil
}

func (b *builder) regionOf(r model.Resource) string {
	if r.RegionOverride() != "" {
		return r.RegionOverride()
	}
	return b.ix.Provider(r).Region
}

func (b *builder) cloudName(name string) string { return b.desc.CloudName(name) }

func (b *builder) deps(r model.Resource) []pulumi.Resource {
	var out []pulumi.Resource
	for _, d := range r.Dependencies() {
		switch d.Kind {
		case model.KindServer:
			if s := b.servers[d.Name]; s != nil {
				out = append(out, s)
			}
		case model.KindDatabase:
			if s := b.databases[d.Name]; s != nil {
				out = append(out, s)
			}
		case model.KindBucket:
			if s := b.buckets[d.Name]; s != nil {
				out = append(out, s)
			}
		}
	}
	return out
}

func (b *builder) options(r model.Resource, protect bool) []pulumi.ResourceOption {
	opts := []pulumi.ResourceOption{pulumi.Provider(b.providers[r.ProviderRef().Name]), pulumi.Protect(protect)}
	if deps := b.deps(r); len(deps) > 0 {
		opts = append(opts, pulumi.DependsOn(deps))
	}
	return opts
}

var cloudInit = template.Must(template.ParseFS(templates.FS, "cloud-init/server.yaml.tmpl"))

func (b *builder) server(s *model.Server) error {
	tok, _, err := b.token(s, model.KindServer)
	if err != nil {
		return err
	}
	var userData bytes.Buffer
	if err := cloudInit.Execute(&userData, map[string]any{"Name": s.Addr().String(), "Coop": b.desc.Coop.Name, "SSHKeys": s.SSHKeys}); err != nil {
		return err
	}
	keys := pulumi.StringArray{}
	for _, k := range s.SSHKeys {
		keys = append(keys, pulumi.String(k))
	}
	args := pulumi.Map{
		"name": pulumi.String(b.cloudName(s.Name)), "region": pulumi.String(b.regionOf(s)),
		"flavor": pulumi.String(s.Flavor), "image": pulumi.String(s.Image),
		// cloud-init carries no secret today, but what a provider keeps in
		// its metadata is treated as one.
		"sshKeys": keys, "userData": pulumi.ToSecret(pulumi.String(userData.String())),
	}
	if s.DiskGB > 0 {
		args["diskGb"] = pulumi.Int(s.DiskGB)
	}
	var state serverState
	if err := b.ctx.RegisterResource(tok, s.Addr().String(), args, &state, b.options(s, false)...); err != nil {
		return err
	}
	b.servers[s.Name] = &state
	b.ctx.Export(s.Addr().String()+".ipv4", state.IPv4)
	b.ctx.Export(s.Addr().String()+".ipv6", state.IPv6)
	b.ctx.Export(s.Addr().String()+".hostKey", state.HostKey)
	// What migrate run logs in to the server with, encrypted in the state.
	b.ctx.Export(s.Addr().String()+".loginKey", pulumi.ToSecret(state.LoginKey))
	return nil
}

// databaseUsers names, for each service on a database, the database and
// the user the application gets: its own name ("mastodon"), or app_name
// when two services of one app share the cluster.
func (b *builder) databaseUsers(db *model.Database) ([]string, []*model.Service) {
	var services []*model.Service
	var names []string
	for _, s := range b.desc.Services {
		if s.Database.Name == db.Name {
			services = append(services, s)
			names = append(names, b.databaseUser(s))
		}
	}
	sort.Strings(names)
	return names, services
}

// databaseUser is the database and user a service gets: its app's name,
// or app_name when another service of the same app shares the cluster.
func (b *builder) databaseUser(s *model.Service) string {
	for _, o := range b.desc.Services {
		if o != s && o.Database.Name == s.Database.Name && o.App == s.App {
			return s.App + "_" + strings.ReplaceAll(s.Name, "-", "_")
		}
	}
	return s.App
}

func (b *builder) database(d *model.Database) error {
	tok, p, err := b.token(d, model.KindDatabase)
	if err != nil {
		return err
	}
	nodes := providers.DatabaseNodes(b.opts.Catalog, p.Kind, b.regionOf(d), d)
	names, services := b.databaseUsers(d)
	// Only the servers of the services that use a database may reach it.
	allowed := pulumi.StringArray{}
	seen := map[string]bool{}
	for _, s := range services {
		if srv := b.servers[s.Server.Name]; srv != nil && !seen[s.Server.Name] {
			seen[s.Server.Name] = true
			allowed = append(allowed, srv.IPv4.ApplyT(func(ip string) string { return ip + "/32" }).(pulumi.StringOutput))
		}
	}
	args := pulumi.Map{
		"name": pulumi.String(b.cloudName(d.Name)), "region": pulumi.String(b.regionOf(d)),
		"engine": pulumi.String(d.Engine), "version": pulumi.String(d.Version), "flavor": pulumi.String(d.Flavor),
		"nodes": pulumi.Int(nodes), "diskGb": pulumi.Int(d.DiskGB),
		"databases": pulumi.ToStringArray(names), "users": pulumi.ToStringArray(names), "allowedIps": allowed,
	}
	if d.Plan != "" {
		args["plan"] = pulumi.String(d.Plan)
	}
	if k := kindOf(p); k != nil && k.SelfRunDatabases {
		// The tool runs this database on a server of its own: the co-op's
		// volunteers log in to it with the keys they log in to theirs.
		args["sshKeys"] = pulumi.ToStringArray(b.sshKeys())
	}
	var state databaseState
	if err := b.ctx.RegisterResource(tok, d.Addr().String(), args, &state, b.options(d, true)...); err != nil {
		return err
	}
	b.databases[d.Name] = &state
	b.ctx.Export(d.Addr().String()+".host", state.Host)
	b.ctx.Export(d.Addr().String()+".port", state.Port)
	if k := kindOf(p); k != nil && k.SelfRunDatabases {
		b.ctx.Export(d.Addr().String()+".backupBucket", state.BackupBucket)
	}
	// Secret outputs: the migration and deployments read them in-process;
	// the engine keeps them encrypted in the state.
	b.ctx.Export(d.Addr().String()+".passwords", pulumi.ToSecret(state.Passwords))
	return nil
}

func (b *builder) bucket(bk *model.Bucket) error {
	tok, _, err := b.token(bk, model.KindBucket)
	if err != nil {
		return err
	}
	args := pulumi.Map{"name": pulumi.String(b.cloudName(bk.Name)), "region": pulumi.String(b.regionOf(bk)), "public": pulumi.Bool(bk.Public)}
	var state bucketState
	if err := b.ctx.RegisterResource(tok, bk.Addr().String(), args, &state, b.options(bk, true)...); err != nil {
		return err
	}
	b.buckets[bk.Name] = &state
	b.ctx.Export(bk.Addr().String()+".endpoint", state.Endpoint)
	b.ctx.Export(bk.Addr().String()+".bucket", state.Bucket)
	b.ctx.Export(bk.Addr().String()+".accessKey", pulumi.ToSecret(state.AccessKey))
	b.ctx.Export(bk.Addr().String()+".secretKey", pulumi.ToSecret(state.SecretKey))
	return nil
}

// zone makes the DNS zone itself where the provider's DNS service makes
// zones; elsewhere the registrar holds it and only records are made.
func (b *builder) zone(z *model.DNS) error {
	var tok string
	if k := kindOf(b.ix.Provider(z)); k != nil {
		tok = k.Token(providers.ResourceZone)
	}
	if tok == "" {
		return nil
	}
	args := pulumi.Map{"zone": pulumi.String(z.Zone), "email": pulumi.String("hostmaster@" + z.Zone)}
	if z.TTL != 0 {
		args["ttl"] = pulumi.Int(z.TTL)
	}
	var state zoneState
	if err := b.ctx.RegisterResource(tok, z.Addr().String(), args, &state, b.options(z, true)...); err != nil {
		return err
	}
	b.zones[z.Name] = &state
	b.ctx.Export(z.Addr().String()+".nameServers", state.NameServers)
	return nil
}

// records publishes a service's domain, and its media host, at its
// server: the server's web proxy serves media from the bucket under the
// co-op's own name, which is what keeps media URLs stable across moves.
func (b *builder) records(s *model.Service) error {
	if s.DNS == nil {
		return nil
	}
	zone, _ := b.ix.Resources[s.DNS.Addr].(*model.DNS)
	srv := b.servers[s.Server.Name]
	if zone == nil || srv == nil {
		return nil
	}
	tok, _, err := b.token(zone, providers.ResourceRecord)
	if err != nil {
		return err
	}
	ttl := zone.TTL
	if ttl == 0 {
		ttl = 300
	}
	hosts := []string{s.Domain}
	if s.MediaHost != "" {
		hosts = append(hosts, s.MediaHost)
	}
	for _, host := range hosts {
		sub := strings.TrimSuffix(strings.TrimSuffix(host, zone.Zone), ".")
		for _, rec := range []struct {
			typ    string
			target pulumi.StringOutput
		}{{"A", srv.IPv4}, {"AAAA", srv.IPv6}} {
			args := pulumi.Map{"zone": pulumi.String(zone.Zone), "name": pulumi.String(sub), "type": pulumi.String(rec.typ), "target": rec.target, "ttl": pulumi.Int(ttl)}
			name := fmt.Sprintf("%s/%s/%s", zone.Addr(), host, rec.typ)
			var state recordState
			opts := []pulumi.ResourceOption{pulumi.Provider(b.providers[zone.ProviderRef().Name])}
			if zs := b.zones[zone.Name]; zs != nil {
				opts = append(opts, pulumi.DependsOn([]pulumi.Resource{zs}))
			}
			if err := b.ctx.RegisterResource(tok, name, args, &state, opts...); err != nil {
				return err
			}
		}
	}
	return nil
}

// sshKeys are every key the description's servers take, once each.
func (b *builder) sshKeys() []string {
	seen := map[string]bool{}
	var keys []string
	for _, s := range b.desc.Servers {
		for _, k := range s.SSHKeys {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// service deploys a service's app on its server over SSH, from the
// server's address and keys, the database's address and the app's
// password, and the bucket's endpoint and keys: a resource of its own, so
// a plan shows a new version as an upgrade and refresh sees the version
// that really runs.
func (b *builder) service(s *model.Service) error {
	if _, err := app.Lookup(s.App); err != nil {
		return fmt.Errorf("%s: plan and up do not deploy %s yet (cosocial deploys %s)", s.Addr(), s.App, strings.Join(app.Names(), ", "))
	}
	srv, db := b.servers[s.Server.Name], b.databases[s.Database.Name]
	dbModel, _ := b.ix.Resources[s.Database.Addr].(*model.Database)
	if srv == nil || db == nil || dbModel == nil {
		return nil
	}
	user := b.databaseUser(s)
	engine := dbModel.Engine
	if engine == "mariadb" {
		engine = "mysql" // the apps speak MySQL's protocol to either
	}
	args := pulumi.Map{
		"server": srv.IPv4, "hostKey": srv.HostKey, "loginKey": pulumi.ToSecret(srv.LoginKey),
		"name": pulumi.String(s.Name), "version": pulumi.String(s.Version), "domain": pulumi.String(s.Domain),
		"dbEngine": pulumi.String(engine), "dbHost": db.Host, "dbPort": db.Port,
		"dbName": pulumi.String(user), "dbUser": pulumi.String(user), "dbSslMode": db.SSLMode,
		"dbPassword": pulumi.ToSecret(db.Passwords.MapIndex(pulumi.String(user))),
	}
	if s.MediaHost != "" {
		args["mediaHost"] = pulumi.String(s.MediaHost)
	}
	if b.opts.AwaitingCutover[s.Addr().String()] {
		args["staged"] = pulumi.Bool(true)
	}
	if b.opts.InternalTLS {
		args["internalTls"] = pulumi.Bool(true)
	} else if b.desc.Coop != nil && b.desc.Coop.Domain != "" {
		args["acmeEmail"] = pulumi.String("hostmaster@" + b.desc.Coop.Domain)
	}
	deps := []pulumi.Resource{srv, db}
	if s.Media != nil {
		if bk := b.buckets[s.Media.Name]; bk != nil {
			args["mediaEndpoint"], args["mediaBucket"] = bk.Endpoint, bk.Bucket
			args["mediaAccessKey"], args["mediaSecretKey"] = pulumi.ToSecret(bk.AccessKey), pulumi.ToSecret(bk.SecretKey)
			deps = append(deps, bk)
		}
	}
	if m := s.SMTP; m != nil {
		args["smtpHost"], args["smtpPort"], args["smtpFrom"] = pulumi.String(m.Host), pulumi.Int(m.Port), pulumi.String(m.From)
		if m.User != "" {
			args["smtpUser"] = pulumi.String(m.User)
		}
		if m.PasswordEnv != "" {
			pw, ok := b.lookupEnv(m.PasswordEnv)
			if !ok {
				return missingSecret(s, m.PasswordEnv)
			}
			args["smtpPassword"] = pulumi.ToSecret(pulumi.String(pw))
		}
	}
	if sec := b.secrets[s.Addr().String()]; sec != nil {
		args["secrets"] = pulumi.ToSecret(sec.Secrets)
		deps = append(deps, sec)
	}
	var state pulumi.CustomResourceState
	opts := []pulumi.ResourceOption{pulumi.Provider(b.providers[b.ix.Provider(b.serverModel(s)).Name]), pulumi.DependsOn(deps)}
	return b.ctx.RegisterResource(providerplugin.AppToken(s.App), s.Addr().String(), args, &state, opts...)
}

// appSecrets are the values a service's app makes once and keeps, protected
// as its database is (only destroy --include-data removes them).
func (b *builder) appSecrets(s *model.Service) error {
	if _, err := app.Lookup(s.App); err != nil {
		return nil // service() says so
	}
	dbModel, _ := b.ix.Resources[s.Database.Addr].(*model.Database)
	if dbModel == nil || b.providers[dbModel.ProviderRef().Name] == nil {
		return nil
	}
	var state secretsState
	args := pulumi.Map{"app": pulumi.String(s.App), "service": pulumi.String(s.Name)}
	if adopted := b.opts.AdoptSecrets[s.Addr().String()]; len(adopted) > 0 {
		args["adopted"] = pulumi.ToSecret(pulumi.ToStringMap(adopted))
	}
	if err := b.ctx.RegisterResource(providerplugin.SecretsToken, s.Addr().String()+".secrets", args, &state,
		pulumi.Provider(b.providers[dbModel.ProviderRef().Name]), pulumi.Protect(true), pulumi.AdditionalSecretOutputs([]string{"secrets"})); err != nil {
		return err
	}
	b.secrets[s.Addr().String()] = &state
	return nil
}

func (b *builder) lookupEnv(name string) (string, bool) {
	if b.opts.LookupEnv != nil {
		return b.opts.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// missingSecret says which variable a service's mail relay password
// should be in: preflight says it at the description's line before the
// engine starts; the program says it too, for a caller that did not.
func missingSecret(s *model.Service, env string) error {
	return fmt.Errorf("%s: the mail relay's password is read from the environment variable %s, which is not set: set it (the description never holds the password; the state keeps it encrypted)", s.Addr(), env)
}

func (b *builder) serverModel(s *model.Service) *model.Server {
	srv, _ := b.ix.Resources[s.Server.Addr].(*model.Server)
	return srv
}
