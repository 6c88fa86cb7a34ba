package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/cosocial/cosocial/pkg/didyoumean"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/provider/providers"
)

// decoder turns HCL blocks into model values, collecting every problem it
// meets instead of stopping at the first, as `terraform validate` does.
type decoder struct {
	diags hcl.Diagnostics
}

// keep records diags and says whether the value they came with is usable.
func (d *decoder) keep(diags hcl.Diagnostics) bool {
	d.diags = append(d.diags, diags...)
	return !diags.HasErrors()
}

func (d *decoder) content(block *hcl.Block, schema *hcl.BodySchema) (*hcl.BodyContent, model.Source) {
	c, diags := block.Body.Content(schema)
	d.diags = append(d.diags, withoutEchoes(diags)...)
	src := model.Source{Decl: block.DefRange, Attrs: make(map[string]hcl.Range, len(c.Attributes))}
	for name, a := range c.Attributes {
		src.Attrs[name] = a.Range
	}
	return c, src
}

// name checks a block label used as a name that references will spell.
func (d *decoder) name(block *hcl.Block, i int) string {
	label := block.Labels[i]
	if !hclsyntax.ValidIdentifier(label) {
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid name",
			Detail:   fmt.Sprintf("%q cannot be used as a name: a name starts with a letter and holds only letters, digits, underscores and dashes, so that references like %s.%s can be written.", label, block.Type, "web"),
			Subject:  block.LabelRanges[i].Ptr(),
		})
	}
	return label
}

// word checks a block label that must be one of a fixed set.
func (d *decoder) word(block *hcl.Block, i int, what string, allowed []string) (string, bool) {
	label := block.Labels[i]
	for _, a := range allowed {
		if label == a {
			return label, true
		}
	}
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported " + what,
		Detail:   fmt.Sprintf("%q is not a %s this tool knows: expected %s.%s", label, what, quoteList(allowed), didyoumean.Hint(label, allowed)),
		Subject:  block.LabelRanges[i].Ptr(),
	})
	return label, false
}

func (d *decoder) coop(block *hcl.Block) *model.Coop {
	c, src := d.content(block, coopSchema)
	coop := &model.Coop{ID: d.name(block, 0), Src: src}
	if a := c.Attributes["name"]; a != nil {
		if v, diags := nonEmptyString(a); d.keep(diags) {
			coop.Name = v
		}
	}
	if a := c.Attributes["domain"]; a != nil {
		if v, diags := hostname(a); d.keep(diags) {
			coop.Domain = v
		}
	}
	if a := c.Attributes["members"]; a != nil {
		if v, diags := wholeNumber(a, 0); d.keep(diags) {
			coop.Members = v
		}
	}
	if a := c.Attributes["fee_cad_yearly"]; a != nil {
		if v, diags := nonNegative(a); d.keep(diags) {
			coop.FeeCADYearly = v
		}
	}
	return coop
}

func (d *decoder) policy(block *hcl.Block) *model.Policy {
	c, src := d.content(block, policySchema)
	if block.Labels[0] != "residency" {
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported policy",
			Detail:   fmt.Sprintf("The only policy is \"residency\", not %q.", block.Labels[0]),
			Subject:  block.LabelRanges[0].Ptr(),
		})
	}
	// An empty policy block asks for nothing; the defaults below are the
	// strictest reading of what the board voted for when it is filled in.
	p := &model.Policy{Ownership: model.OwnershipAny, OnViolation: model.OnViolationError, Src: src}
	if a := c.Attributes["data_country"]; a != nil {
		if v, diags := countryCode(a); d.keep(diags) {
			p.DataCountry = v
		}
	}
	if a := c.Attributes["ownership"]; a != nil {
		if v, diags := oneOf(a, []string{model.OwnershipCanadian, model.OwnershipAny}); d.keep(diags) {
			p.Ownership = v
		}
	}
	if a := c.Attributes["on_violation"]; a != nil {
		if v, diags := oneOf(a, []string{model.OnViolationError, model.OnViolationWarn}); d.keep(diags) {
			p.OnViolation = v
		}
	}
	seen := map[string]*model.Waiver{}
	for _, b := range c.Blocks {
		w := d.waiver(b)
		if prev, dup := seen[w.Name]; dup {
			d.diags = append(d.diags, duplicate("waiver", w.Name, b.DefRange, prev.Src.Decl))
			continue
		}
		seen[w.Name] = w
		p.Waivers = append(p.Waivers, w)
	}
	return p
}

func (d *decoder) waiver(block *hcl.Block) *model.Waiver {
	c, src := d.content(block, waiverSchema)
	w := &model.Waiver{Name: d.name(block, 0), Src: src}
	if a := c.Attributes["resources"]; a != nil {
		if v, diags := referenceList(a, "a server, database, bucket or DNS zone", model.ResourceKinds...); d.keep(diags) {
			w.Resources = v
			if len(v) == 0 {
				d.diags = append(d.diags, invalidValue(a, "A waiver must name at least one resource."))
			}
		}
	}
	if a := c.Attributes["rule"]; a != nil {
		if v, diags := oneOf(a, model.Rules); d.keep(diags) {
			w.Rule = v
		}
	}
	if a := c.Attributes["reason"]; a != nil {
		if v, diags := nonEmptyString(a); d.keep(diags) {
			w.Reason = v
		}
	}
	if a := c.Attributes["expires"]; a != nil {
		if v, diags := date(a); d.keep(diags) {
			w.Expires = v
		}
	}
	return w
}

func (d *decoder) state(block *hcl.Block) *model.State {
	c, src := d.content(block, stateSchema)
	s := &model.State{Src: src}
	if a := c.Attributes["backend"]; a != nil {
		if v, diags := oneOf(a, model.Backends); d.keep(diags) {
			s.Backend = v
		}
	}
	if a := c.Attributes["bucket"]; a != nil {
		if v, diags := reference(a.Expr, "a bucket", model.KindBucket); d.keep(diags) {
			s.Bucket = &v
		}
	}
	switch {
	case s.Backend == model.BackendS3 && s.Bucket == nil:
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing state bucket",
			Detail:   `The "s3" backend keeps state in a bucket of this description: add bucket = bucket.<name>.`,
			Subject:  block.DefRange.Ptr(),
		})
	case s.Backend != model.BackendS3 && s.Backend != "" && s.Bucket != nil:
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unexpected state bucket",
			Detail:   fmt.Sprintf("Only the \"s3\" backend keeps state in a bucket; the %q backend takes no bucket.", s.Backend),
			Subject:  src.Attr("bucket"),
		})
	}
	return s
}

func (d *decoder) provider(block *hcl.Block) *model.Provider {
	kind, known := d.word(block, 0, "provider kind", providers.Names())
	p := &model.Provider{Kind: kind, Name: d.name(block, 1)}
	k, _ := providers.Lookup(kind)
	if !known || k == nil {
		p.Src = model.Source{Decl: block.DefRange}
		return p
	}
	c, src := d.content(block, providerSchema(k))
	p.Src = src
	for _, set := range k.Settings {
		a := c.Attributes[set.Name]
		if a == nil {
			continue
		}
		v, diags := nonEmptyString(a)
		if !d.keep(diags) {
			continue
		}
		// A value holding "/" is then a literal URL: how the sandbox
		// is reached.
		if len(set.Values) > 0 && !(set.OrURL && strings.Contains(v, "/")) {
			if v, diags = oneOf(a, set.Values); !d.keep(diags) {
				continue
			}
		}
		p.SetSetting(set.Name, v)
	}
	return p
}

func (d *decoder) common(block *hcl.Block, c *hcl.BodyContent, src model.Source) model.Common {
	cm := model.Common{Name: d.name(block, 0), Src: src}
	if a := c.Attributes["provider"]; a != nil {
		if v, diags := reference(a.Expr, "a provider", model.KindProvider); d.keep(diags) {
			cm.Provider = v
		}
	}
	if a := c.Attributes["region"]; a != nil {
		if v, diags := nonEmptyString(a); d.keep(diags) {
			cm.Region = v
		}
	}
	cm.DependsOn = d.dependsOn(c)
	return cm
}

func (d *decoder) dependsOn(c *hcl.BodyContent) []model.Ref {
	a := c.Attributes["depends_on"]
	if a == nil {
		return nil
	}
	refs, diags := referenceList(a, "a server, database, bucket or DNS zone", model.ResourceKinds...)
	d.keep(diags)
	return refs
}

// diskGB decodes a disk size; 10 TB is far beyond anything a co-op rents and
// catches a size written in megabytes.
func (d *decoder) diskGB(c *hcl.BodyContent) int {
	a := c.Attributes["disk_gb"]
	if a == nil {
		return 0
	}
	v, diags := wholeNumber(a, 1)
	if d.keep(diags) && v > 10000 {
		d.diags = append(d.diags, invalidValue(a, fmt.Sprintf("%d GB is more than 10000 GB: disk_gb is in gigabytes.", v)))
	}
	return v
}

func (d *decoder) server(block *hcl.Block) *model.Server {
	c, src := d.content(block, serverSchema)
	s := &model.Server{Common: d.common(block, c, src), DiskGB: d.diskGB(c)}
	for name, field := range map[string]*string{"flavor": &s.Flavor, "image": &s.Image} {
		if a := c.Attributes[name]; a != nil {
			if v, diags := nonEmptyString(a); d.keep(diags) {
				*field = v
			}
		}
	}
	if a := c.Attributes["ssh_keys"]; a != nil {
		if v, diags := stringList(a); d.keep(diags) {
			for _, k := range v {
				if !strings.HasPrefix(k, "ssh-") && !strings.HasPrefix(k, "ecdsa-") {
					d.diags = append(d.diags, invalidValue(a, "Each entry of ssh_keys is a public key in OpenSSH's form, starting with \"ssh-ed25519\", \"ssh-rsa\" or \"ecdsa-\"."))
					break
				}
			}
			s.SSHKeys = v
		}
	}
	return s
}

func (d *decoder) database(block *hcl.Block) *model.Database {
	c, src := d.content(block, databaseSchema)
	db := &model.Database{Common: d.common(block, c, src), DiskGB: d.diskGB(c)}
	if a := c.Attributes["engine"]; a != nil {
		if v, diags := oneOf(a, model.Engines); d.keep(diags) {
			db.Engine = v
		}
	}
	for name, field := range map[string]*string{"version": &db.Version, "plan": &db.Plan, "flavor": &db.Flavor} {
		if a := c.Attributes[name]; a != nil {
			if v, diags := nonEmptyString(a); d.keep(diags) {
				*field = v
			}
		}
	}
	return db
}

func (d *decoder) bucket(block *hcl.Block) *model.Bucket {
	c, src := d.content(block, bucketSchema)
	b := &model.Bucket{Common: d.common(block, c, src)}
	if a := c.Attributes["public"]; a != nil {
		if v, diags := boolValue(a); d.keep(diags) {
			b.Public = v
		}
	}
	return b
}

func (d *decoder) dns(block *hcl.Block) *model.DNS {
	c, src := d.content(block, dnsSchema)
	z := &model.DNS{Common: d.common(block, c, src)}
	if a := c.Attributes["zone"]; a != nil {
		if v, diags := hostname(a); d.keep(diags) {
			z.Zone = v
		}
	}
	if a := c.Attributes["ttl"]; a != nil {
		if v, diags := wholeNumber(a, 30); d.keep(diags) {
			z.TTL = v
		}
	}
	return z
}

func (d *decoder) service(block *hcl.Block) *model.Service {
	app, _ := d.word(block, 0, "application", model.Apps)
	c, src := d.content(block, serviceSchema)
	s := &model.Service{App: app, Name: d.name(block, 1), Src: src}
	if a := c.Attributes["domain"]; a != nil {
		if v, diags := hostname(a); d.keep(diags) {
			s.Domain = v
		}
	}
	if a := c.Attributes["version"]; a != nil {
		if v, diags := nonEmptyString(a); d.keep(diags) {
			s.Version = v
		}
	}
	if a := c.Attributes["media_host"]; a != nil {
		if v, diags := hostname(a); d.keep(diags) {
			s.MediaHost = v
		}
	}
	if a := c.Attributes["server"]; a != nil {
		if v, diags := reference(a.Expr, "a server", model.KindServer); d.keep(diags) {
			s.Server = v
		}
	}
	if a := c.Attributes["database"]; a != nil {
		if v, diags := reference(a.Expr, "a database", model.KindDatabase); d.keep(diags) {
			s.Database = v
		}
	}
	if a := c.Attributes["media"]; a != nil {
		if v, diags := reference(a.Expr, "a bucket", model.KindBucket); d.keep(diags) {
			s.Media = &v
		}
	}
	if a := c.Attributes["dns"]; a != nil {
		if v, diags := reference(a.Expr, "a DNS zone", model.KindDNS); d.keep(diags) {
			s.DNS = &v
		}
	}
	s.DependsOn = d.dependsOn(c)
	first := map[string]*hcl.Block{}
	for _, b := range c.Blocks {
		if f := first[b.Type]; f != nil {
			d.diags = append(d.diags, duplicate(b.Type+" block", "", b.DefRange, f.DefRange))
			continue
		}
		first[b.Type] = b
		switch b.Type {
		case "allowances":
			s.Allowances = d.allowances(b)
		case "smtp":
			s.SMTP = d.smtp(b)
		}
	}
	return s
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// mailboxRE is an address a relay accepts in MAIL FROM: no display name,
// which the apps add themselves.
var mailboxRE = regexp.MustCompile(`^[^@\s"<>]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$`)

func (d *decoder) smtp(block *hcl.Block) *model.SMTP {
	c, src := d.content(block, smtpSchema)
	m := &model.SMTP{Port: model.DefaultSMTPPort, Src: src}
	if a := c.Attributes["host"]; a != nil {
		if v, diags := hostname(a); d.keep(diags) {
			m.Host = v
		}
	}
	if a := c.Attributes["port"]; a != nil {
		if v, diags := wholeNumber(a, 1); d.keep(diags) {
			if v > 65535 {
				d.diags = append(d.diags, invalidValue(a, fmt.Sprintf("%d is not a TCP port: expected 1 to 65535 (587 for submission with STARTTLS, 465 for TLS).", v)))
			} else {
				m.Port = v
			}
		}
	}
	if a := c.Attributes["user"]; a != nil {
		if v, diags := nonEmptyString(a); d.keep(diags) {
			m.User = v
		}
	}
	if a := c.Attributes["password_env"]; a != nil {
		if v, diags := stringValue(a); d.keep(diags) {
			if envNameRE.MatchString(v) {
				m.PasswordEnv = v
			} else {
				d.diags = append(d.diags, invalidValue(a, fmt.Sprintf("%q is not the name of an environment variable: expected letters, digits and underscores, like \"COSOCIAL_SMTP_PASSWORD\". The password itself never goes in the description.", v)))
			}
		}
	}
	if a := c.Attributes["from"]; a != nil {
		if v, diags := stringValue(a); d.keep(diags) {
			if mailboxRE.MatchString(v) {
				m.From = v
			} else {
				d.diags = append(d.diags, invalidValue(a, fmt.Sprintf("%q is not a mail address: expected one address, like \"notifications@cosocial.ca\".", v)))
			}
		}
	}
	if m.User != "" && m.PasswordEnv == "" {
		d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing password_env",
			Detail:  fmt.Sprintf("The relay's user %q needs a password: name the environment variable that holds it with password_env.", m.User),
			Subject: block.DefRange.Ptr()})
	}
	return m
}

func (d *decoder) allowances(block *hcl.Block) *model.Allowances {
	c, src := d.content(block, allowancesSchema)
	al := &model.Allowances{Src: src}
	for name, field := range map[string]*int{"posts_per_day": &al.PostsPerDay, "media_mb_per_day": &al.MediaMBPerDay, "api_calls_per_5m": &al.APICallsPer5m} {
		if a := c.Attributes[name]; a != nil {
			if v, diags := wholeNumber(a, 1); d.keep(diags) {
				*field = v
			}
		}
	}
	return al
}

func (d *decoder) migration(block *hcl.Block) *model.Migration {
	c, src := d.content(block, migrationSchema)
	m := &model.Migration{Name: d.name(block, 0), Src: src}
	if a := c.Attributes["source"]; a != nil {
		if v, diags := nonEmptyString(a); d.keep(diags) {
			m.SourcePath = v
		}
	}
	if a := c.Attributes["downtime_budget"]; a != nil {
		if v, diags := duration(a); d.keep(diags) {
			m.DowntimeBudget = v
		}
	}
	return m
}

func duplicate(what, name string, at, first hcl.Range) *hcl.Diagnostic {
	title := "Duplicate " + what
	detail := fmt.Sprintf("A %s was already declared at %s; only one is allowed.", what, model.Where(first))
	if name != "" {
		title = fmt.Sprintf("Duplicate %s %q", what, name)
		detail = fmt.Sprintf("A %s named %q was already declared at %s. Each name must be unique.", what, name, model.Where(first))
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: title, Detail: detail, Subject: at.Ptr()}
}

var (
	suggestedRE = regexp.MustCompile(`Did you mean "([^"]+)"\?`)
	requiredRE  = regexp.MustCompile(`^The argument "([^"]+)" is required`)
)

// withoutEchoes drops "Missing required argument" for an argument that an
// "Unsupported argument" of the same block already suggests: a volunteer who
// wrote flavour needs one message saying flavor, not two.
func withoutEchoes(diags hcl.Diagnostics) hcl.Diagnostics {
	suggested := map[string]bool{}
	for _, d := range diags {
		if m := suggestedRE.FindStringSubmatch(d.Detail); d.Summary == "Unsupported argument" && m != nil {
			suggested[m[1]] = true
		}
	}
	if len(suggested) == 0 {
		return diags
	}
	kept := diags[:0:0]
	for _, d := range diags {
		if m := requiredRE.FindStringSubmatch(d.Detail); d.Summary == "Missing required argument" && m != nil && suggested[m[1]] {
			continue
		}
		kept = append(kept, d)
	}
	return kept
}
