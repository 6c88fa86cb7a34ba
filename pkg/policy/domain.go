package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/app"
	"github.com/cosocial/cosocial/pkg/catalog"
	"github.com/cosocial/cosocial/pkg/didyoumean"
	"github.com/cosocial/cosocial/pkg/model"
)

// domain checks what a good tool checks before any API call.
func (c *checker) domain() {
	for _, p := range c.desc.Providers {
		c.loc.provider(p)
	}
	c.unusedProviders()
	for _, s := range c.desc.Servers {
		c.server(s)
	}
	for _, db := range c.desc.Databases {
		c.database(db)
	}
	for _, b := range c.desc.Buckets {
		c.bucket(b)
	}
	for _, z := range c.desc.DNS {
		c.dnsZone(z)
	}
	c.services()
	c.migration()
}

func (c *checker) errorf(at *hcl.Range, summary, format string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: at})
}

func (c *checker) warnf(at *hcl.Range, summary, format string, args ...any) {
	c.diags = append(c.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: at})
}

func (c *checker) unusedProviders() {
	used := map[string]bool{}
	for _, r := range c.desc.Resources() {
		used[r.ProviderRef().Name] = true
	}
	for _, p := range c.desc.Providers {
		if !used[p.Name] {
			c.warnf(p.Src.Decl.Ptr(), "Unused provider", "provider.%s is declared but no resource uses it; it is not judged by the residency policy until one does.", p.Name)
		}
	}
}

func (c *checker) server(s *model.Server) {
	pl := c.loc.resource(s)
	if pl.region == nil || s.Flavor == "" {
		return
	}
	if pl.region.Flavor(s.Flavor) == nil {
		c.errorf(s.Src.Attr("flavor"), "Unsupported flavor",
			"%s offers no server flavor %q in %s.%s Offered there: %s.",
			pl.operator.Name, s.Flavor, pl.region.Code, didyoumean.Hint(s.Flavor, pl.region.FlavorNames()), strings.Join(pl.region.FlavorNames(), ", "))
	}
}

func (c *checker) database(db *model.Database) {
	pl := c.loc.resource(db)
	if pl.region == nil || db.Engine == "" {
		return
	}
	op, region := pl.operator, pl.region
	offer := region.Database(db.Engine)
	if offer == nil {
		elsewhere := c.regionsOffering(op, db.Engine)
		c.errorf(db.Src.Attr("engine"), "Database engine not offered",
			"%s offers no %s databases in %s. Offered there: %s. Regions of %s with %s: %s.",
			op.Name, db.Engine, region.Code, listOf(region.Engines()), op.Name, db.Engine, listOf(elsewhere))
		return
	}
	if db.Version != "" && !offer.HasVersion(db.Version) {
		c.errorf(db.Src.Attr("version"), "Database version not offered",
			"%s offers %s versions %s in %s, not %q.", op.Name, db.Engine, strings.Join(offer.Versions, ", "), region.Code, db.Version)
	}
	plans := offer.PlanNames()
	var plan *catalog.DatabasePlan
	switch {
	case len(plans) == 0 && db.Plan != "":
		c.errorf(db.Src.Attr("plan"), "Unexpected database plan",
			"%s has no database plans: remove plan = %q and choose the size with flavor.", op.Name, db.Plan)
		return
	case len(plans) == 0:
		plan = offer.Plan("")
	case db.Plan == "":
		c.errorf(db.Src.Decl.Ptr(), "Missing database plan",
			"%s databases need a plan: one of %s.", op.Name, quoted(plans))
		return
	default:
		plan = offer.Plan(db.Plan)
		if plan == nil {
			c.errorf(db.Src.Attr("plan"), "Unsupported database plan",
				"%s offers the plans %s for %s in %s, not %q.%s", op.Name, quoted(plans), db.Engine, region.Code, db.Plan, didyoumean.Hint(db.Plan, plans))
			return
		}
	}
	if db.Flavor == "" {
		return
	}
	flavor := plan.Flavor(db.Flavor)
	if flavor == nil {
		on := ""
		if plan.Name != "" {
			on = fmt.Sprintf(" on the %s plan", plan.Name)
		}
		c.errorf(db.Src.Attr("flavor"), "Unsupported database flavor",
			"%s offers no %s flavor %q%s in %s.%s Offered: %s.",
			op.Name, db.Engine, db.Flavor, on, region.Code, didyoumean.Hint(db.Flavor, plan.FlavorNames()), strings.Join(plan.FlavorNames(), ", "))
		return
	}
	if db.DiskGB != 0 && !flavor.DiskAllowed(db.DiskGB) {
		c.errorf(db.Src.Attr("disk_gb"), "Unsupported disk size",
			"%s %s takes a disk of %s, not %d GB.", op.Name, flavor.Name, flavor.DiskSizes(), db.DiskGB)
	}
}

func (c *checker) regionsOffering(op *catalog.Operator, engine string) []string {
	var codes []string
	for _, r := range op.Regions {
		if r.Database(engine) != nil {
			codes = append(codes, r.Code)
		}
	}
	return codes
}

func (c *checker) bucket(b *model.Bucket) {
	// The name the provider sees is made from the co-op's ID and the
	// block's label; S3 refuses many names HCL accepts, and up would
	// otherwise fail half-way, after other resources were made.
	if c.desc.Coop != nil {
		name := c.desc.CloudName(b.Name)
		if problem := bucketNameProblem(name); problem != "" {
			decl := b.Src.Decl
			c.errorf(&decl, "Bucket name the providers refuse",
				"bucket %q is created as %q at its provider (the coop's ID, a dash, the bucket's label, lower-cased), and S3 refuses that name: %s. Rename the bucket block's label.",
				b.Name, name, problem)
		}
	}
	pl := c.loc.resource(b)
	if pl.region != nil && pl.region.ObjectStorage == nil {
		var with []string
		for _, r := range pl.operator.Regions {
			if r.ObjectStorage != nil {
				with = append(with, r.Code)
			}
		}
		c.errorf(b.Src.Attr("provider"), "Object storage not offered",
			"%s offers no object storage in %s. Regions with object storage: %s.", pl.operator.Name, pl.region.Code, listOf(with))
	}
}

func (c *checker) dnsZone(z *model.DNS) {
	pl := c.loc.resource(z)
	if pl.region != nil && !pl.region.DNS {
		c.errorf(z.Src.Attr("provider"), "DNS not offered",
			"%s offers no DNS hosting in %s.", pl.operator.Name, pl.region.Code)
	}
}

func (c *checker) services() {
	// Every name a service answers at (its domain, its media host) is
	// published once: two services, or a service and its own media, cannot
	// share one.
	names := map[string]string{}
	claim := func(s *model.Service, host, attr string) {
		who := "service." + s.App + "." + s.Name
		if host == "" {
			return
		}
		if first, dup := names[host]; dup {
			c.errorf(s.Src.Attr(attr), "Name used twice",
				"%s is already the name of %s; each service's domain and media host must be a name of its own.", host, first)
			return
		}
		names[host] = fmt.Sprintf("%s (%s)", who, attr)
	}
	for _, s := range c.desc.Services {
		claim(s, s.Domain, "domain")
		claim(s, s.MediaHost, "media_host")
		c.serviceDatabase(s)
		c.serviceZone(s)
		c.mediaHost(s)
		c.mailRelay(s)
		c.serviceRelease(s)
	}
}

// serviceRelease: a version the project never tagged, or one its notes
// say the database is too old for, fails at plan or halfway through up;
// say it at the version's line instead.
func (c *checker) serviceRelease(s *model.Service) {
	if s.Version == "" {
		return
	}
	var engine string
	var dbMajor int
	if r, _ := c.ix.Resources[s.Database.Addr].(*model.Database); r != nil {
		engine, dbMajor = r.Engine, mustMajor(r.Version, 0)
	}
	if err := app.CheckRelease(s.App, s.Version, engine, dbMajor); err != nil {
		c.errorf(s.Src.Attr("version"), "Release not deployable", "%s.", strings.TrimSuffix(err.Error(), "."))
	}
}

// mailRelay: a relay is no provider of the description, so the residency
// policy cannot place it; members' addresses and the mail sent to them go
// through it. Say so rather than let the report read as if it were judged.
func (c *checker) mailRelay(s *model.Service) {
	if s.SMTP == nil || c.desc.Policy == nil {
		return
	}
	c.warnf(s.SMTP.Src.Attr("host"), "Mail relay not judged by the residency policy",
		"service.%s.%s sends members' mail through %s, which is not a provider of this description: the residency report cannot say where it keeps members' addresses and messages. Check its data country and owner yourself, or waive it in the board's minutes.",
		s.App, s.Name, s.SMTP.Host)
}

func (c *checker) serviceDatabase(s *model.Service) {
	want, ok := model.AppEngines[s.App]
	if !ok {
		return
	}
	r, _ := c.ix.Resources[s.Database.Addr].(*model.Database)
	if r == nil || r.Engine == "" {
		return
	}
	for _, e := range want {
		if r.Engine == e {
			return
		}
	}
	c.errorf(s.Src.Attr("database"), "Wrong database engine",
		"%s runs on %s; database.%s is %s.", title(s.App), orList(want), r.Name, r.Engine)
}

func (c *checker) serviceZone(s *model.Service) {
	if s.DNS == nil {
		return
	}
	z, _ := c.ix.Resources[s.DNS.Addr].(*model.DNS)
	if z == nil || z.Zone == "" {
		return
	}
	if s.Domain != "" && !inZone(s.Domain, z.Zone) {
		c.errorf(s.Src.Attr("domain"), "Domain outside the zone",
			"%s is not in the zone %s of dns.%s, so the tool cannot publish its records there.", s.Domain, z.Zone, z.Name)
	}
	if s.MediaHost != "" && !inZone(s.MediaHost, z.Zone) {
		c.warnf(s.Src.Attr("media_host"), "Media host outside the zone",
			"%s is not in the zone %s: publish its record wherever that domain's zone lives.", s.MediaHost, z.Zone)
	}
}

func inZone(host, zone string) bool { return host == zone || strings.HasSuffix(host, "."+zone) }

// mediaHost checks Mastodon's S3_ALIAS_HOST: without it, every media URL
// names the bucket's own host, and moving the bucket breaks the copies
// remote servers have of each post.
func (c *checker) mediaHost(s *model.Service) {
	if s.App != model.AppMastodon || s.Media == nil || s.MediaHost != "" {
		return
	}
	if c.migrated(*s.Media) {
		c.errorf(s.Src.Decl.Ptr(), "Migrated media without media_host",
			"bucket.%s moves in migration %q, and without media_host Mastodon's media URLs name the bucket's host: every copy of every post on remote servers would lose its media. Set media_host (Mastodon's S3_ALIAS_HOST) to a name of the co-op's own, e.g. media_host = \"media.%s\", and point it at the bucket.",
			s.Media.Name, c.desc.Migration.Name, s.Domain)
		return
	}
	c.warnf(s.Src.Decl.Ptr(), "No media_host",
		"Without media_host (Mastodon's S3_ALIAS_HOST), media URLs name bucket.%s's own host, and a future move of the bucket breaks them on every remote server. Set media_host = \"media.%s\" now, while nothing depends on the old URLs.",
		s.Media.Name, s.Domain)
}

// migrated reports whether a resource is paired with one of the
// migration's source: same kind, same name.
func (c *checker) migrated(r model.Ref) bool {
	if c.source == nil {
		return false
	}
	_, ok := c.source.Resources[r.Addr]
	return ok
}

// migration checks what can be told about a migration from the two
// descriptions alone; the inventory of what really runs comes later.
func (c *checker) migration() {
	m := c.desc.Migration
	if m == nil || m.Source == nil {
		return
	}
	sourceDBs := map[string]*model.Database{}
	for _, db := range m.Source.Databases {
		sourceDBs[db.Name] = db
	}
	pairs := 0
	for _, r := range m.Source.Resources() {
		if _, ok := c.ix.Resources[r.Addr()]; ok {
			pairs++
		}
	}
	for _, db := range c.desc.Databases {
		src := sourceDBs[db.Name]
		if src == nil || src.Engine == "" || db.Engine == "" {
			continue
		}
		if family(src.Engine) != family(db.Engine) {
			c.errorf(db.Src.Attr("engine"), "Engine changes in migration",
				"database.%s is %s today (%s) and %s in this description: a migration copies data between the same engine.", db.Name, src.Engine, model.Where(src.Src.Decl), db.Engine)
			continue
		}
		if to, ok := major(db.Version); ok && to < mustMajor(src.Version, to) {
			c.errorf(db.Src.Attr("version"), "Database version goes down",
				"database.%s runs %s %s today and %s here: PostgreSQL and MySQL data cannot move to an older major version.", db.Name, src.Engine, src.Version, db.Version)
		}
	}
	if pairs == 0 {
		c.warnf(m.Src.Attr("source"), "Nothing to migrate",
			"No server, database, bucket or DNS zone of %s has the same kind and name here, so nothing pairs: give the target resources the names they have today.", m.SourcePath)
	}
}

// family puts MariaDB with MySQL: they share a wire protocol and dump format.
func family(engine string) string {
	if engine == model.EngineMariaDB {
		return model.EngineMySQL
	}
	return engine
}

// major reads the major version of "16", "8.0" or "10.11".
func major(v string) (int, bool) {
	head, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(head)
	return n, err == nil
}

// mustMajor is major with a fallback, so that a version the tool cannot
// read never raises a false "goes down".
func mustMajor(v string, fallback int) int {
	if n, ok := major(v); ok {
		return n
	}
	return fallback
}

func quoted(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = strconv.Quote(w)
	}
	return strings.Join(q, ", ")
}

func orList(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

func title(app string) string {
	if app == "" {
		return app
	}
	return strings.ToUpper(app[:1]) + app[1:]
}
