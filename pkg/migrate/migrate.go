// Package migrate moves a co-op's services from the description of what
// runs today to its target, as a migration block declares: it pairs the
// two descriptions' resources (server to server, database to database,
// bucket to bucket), takes stock of the source, and plans the copies and
// the cutover with their durations, the downtime and what blocks them.
// The copies themselves live in migrate/objects and migrate/pgcopy, the
// cutover's remote commands in migrate/remote, its steps in migrate/journal.
package migrate

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cosocial/cosocial/pkg/app"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/objectstore"
)

// Pair is a resource of the source and its counterpart in the target:
// the same kind and name on both sides.
type Pair struct {
	Addr   model.Addr
	Source model.Resource
	Target model.Resource
}

// Pairs matches the migration's source resources to the target's. What
// only the source has is left behind (and shut down after the move); what
// only the target has is new.
func Pairs(target *model.Description) (pairs []Pair, leftBehind, added []model.Resource) {
	m := target.Migration
	if m == nil || m.Source == nil {
		return nil, nil, target.Resources()
	}
	byAddr := map[model.Addr]model.Resource{}
	for _, r := range target.Resources() {
		byAddr[r.Addr()] = r
	}
	seen := map[model.Addr]bool{}
	for _, r := range m.Source.Resources() {
		if t, ok := byAddr[r.Addr()]; ok {
			pairs = append(pairs, Pair{Addr: r.Addr(), Source: r, Target: t})
			seen[r.Addr()] = true
		} else {
			leftBehind = append(leftBehind, r)
		}
	}
	for _, r := range target.Resources() {
		if !seen[r.Addr()] {
			added = append(added, r)
		}
	}
	return pairs, leftBehind, added
}

// Facts is what the source's provider says it runs, by the source
// description's resource names.
type Facts struct {
	Servers   map[string]ServerFacts
	Databases map[string]DatabaseFacts
	Buckets   map[string]BucketFacts
	// Records are the DNS records of the services' hosts, with their TTLs.
	Records []RecordFacts
}

// ServerFacts is a server the source runs.
type ServerFacts struct {
	CloudName string
	Size      string
	IPv4      string
	IPv6      string
}

// DatabaseFacts is a database the source runs.
type DatabaseFacts struct {
	CloudName string
	// Database is the database in the cluster that holds the app's data.
	Database string
	Engine   string
	Version  string
	// DataBytes is what the database holds; DiskBytes the disk it has.
	DataBytes int64
	DiskBytes int64
}

// BucketFacts is what a source bucket holds.
type BucketFacts struct {
	CloudName string
	Objects   int64
	Bytes     int64
}

// RecordFacts is a DNS record a switch will change.
type RecordFacts struct {
	Host string
	Type string
	TTL  time.Duration
	// Data is what the record holds: an address, or a CNAME's target.
	Data string
}

// Throughput is measured transfer speed, from a probe of the source.
type Throughput struct {
	ObjectsPerSecond float64
	BytesPerSecond   float64
	// DatabaseBytesPerSecond is how fast the source's largest table reads.
	DatabaseBytesPerSecond float64
}

// Step is one part of the migration in the plan.
type Step struct {
	Name string `json:"name"`
	What string `json:"what"`
	// Bytes and Objects are the volume the step moves, 0 when none.
	Bytes   int64 `json:"bytes"`
	Objects int64 `json:"objects"`
	// Estimate is how long the step should take; 0 when unknown.
	Estimate time.Duration `json:"estimate_ns"`
	// Downtime is true for the steps during which the service is down.
	Downtime bool `json:"downtime"`
}

// Move is one resource leaving an owner or a country.
type Move struct {
	Addr string `json:"address"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Plan is what a migration will do.
type Plan struct {
	Migration string        `json:"migration"`
	Budget    time.Duration `json:"downtime_budget_ns"`
	Pairs     []string      `json:"pairs"`
	New       []string      `json:"new"`
	Left      []string      `json:"left_behind"`
	Moves     []Move        `json:"moves"`
	Steps     []Step        `json:"steps"`
	// Downtime is the expected time the service is down.
	Downtime time.Duration `json:"downtime_ns"`
	// Blockers must be resolved before migrate run; Warnings should be read.
	Blockers []string `json:"blockers"`
	Warnings []string `json:"warnings"`
	// Manual are what the tool does not do, with the exact commands, in
	// the order they come.
	Manual []string `json:"manual_steps"`
}

// Cutover costs that do not depend on the data: the parts of the window
// that are the same for every co-op. Mastodon's web and streaming
// processes take about a minute to boot and pass their health checks.
const (
	StopWriters = 15 * time.Second
	StartApp    = 60 * time.Second
	HealthCheck = 15 * time.Second
	// CatchUp is the final replication catch-up and the sequence reset in
	// low-downtime mode: seconds, whatever the database's size.
	CatchUp = 10 * time.Second
)

// Input is what a plan is made from.
type Input struct {
	Target *model.Description
	Facts  Facts
	Speed  Throughput
	// Created lists the target resources the target's stack has created.
	// Nil means the stack could not be read: not judged.
	Created map[string]bool
	// Owner names a resource's provider's owner and country, as the
	// residency report does, for the moves.
	Owner func(model.Resource) string
	// LowDowntime keeps the target database in step by logical
	// replication until cutover, instead of a dump and restore in the
	// window.
	LowDowntime bool
	// WritesPerDay is the media the service writes a day, which the final
	// object sync copies in the window.
	WritesPerDay int64
}

// MakePlan pairs, estimates and judges a migration.
func MakePlan(in Input) *Plan {
	m := in.Target.Migration
	p := &Plan{Migration: m.Name, Budget: m.DowntimeBudget, Pairs: []string{}, New: []string{}, Left: []string{},
		Moves: []Move{}, Steps: []Step{}, Blockers: []string{}, Warnings: []string{}, Manual: []string{}}
	pairs, left, added := Pairs(in.Target)
	for _, r := range added {
		p.New = append(p.New, r.Addr().String())
	}
	for _, r := range left {
		p.Left = append(p.Left, r.Addr().String())
	}
	for _, pr := range pairs {
		p.Pairs = append(p.Pairs, pr.Addr.String())
		if in.Owner != nil {
			if from, to := in.Owner(pr.Source), in.Owner(pr.Target); from != to {
				p.Moves = append(p.Moves, Move{Addr: pr.Addr.String(), From: from, To: to})
			}
		}
		if in.Created != nil && !in.Created[pr.Addr.String()] {
			p.Blockers = append(p.Blockers, fmt.Sprintf("%s is not stood up in the target yet: run `cosocial up` first", pr.Addr))
		}
	}
	// The bulk copies run while the service is up; the window begins when
	// the writers stop.
	var window time.Duration
	var bulk, final []Step
	add := func(s Step) {
		if s.Downtime {
			final = append(final, s)
			window += s.Estimate
		} else {
			bulk = append(bulk, s)
		}
	}
	add(Step{Name: "stop-writers", What: "stop the app's web, streaming and Sidekiq processes at the source", Estimate: StopWriters, Downtime: true})
	for _, pr := range pairs {
		if pr.Addr.Kind == model.KindBucket {
			p.bucket(in, pr, add)
		}
	}
	if media := in.WritesPerDay; media > 0 && in.Speed.BytesPerSecond > 0 {
		// The final sync copies what was written since the bulk copy; a day
		// of media is the most it should find when run the day after.
		add(Step{Name: "final-object-sync", What: "copy objects written since the bulk copy", Bytes: media,
			Estimate: seconds(float64(media) / in.Speed.BytesPerSecond), Downtime: true})
	} else {
		add(Step{Name: "final-object-sync", What: "copy objects written since the bulk copy", Downtime: true})
	}
	for _, pr := range pairs {
		if pr.Addr.Kind == model.KindDatabase {
			p.database(in, pr, add)
		}
	}
	// Written before the writers stop: it costs the window nothing.
	add(Step{Name: "rewrite-env", What: "write the app's env file at the target, pointed at its database and bucket (S3_ALIAS_HOST unchanged), before the writers stop", Estimate: 5 * time.Second})
	add(Step{Name: "start-target", What: "start the app on the target server", Estimate: StartApp, Downtime: true})
	add(Step{Name: "health-check", What: "check /health and /api/v1/instance on the target", Estimate: HealthCheck, Downtime: true})
	ttl := p.dns(in, window)
	add(Step{Name: "switch-dns", What: "point the service's hosts at the target server; clients follow within the records' TTL", Estimate: ttl, Downtime: true})
	p.Steps = append(bulk, final...)
	p.Downtime = window
	p.manual(in)
	if m.DowntimeBudget > 0 && window > m.DowntimeBudget {
		p.Blockers = append(p.Blockers, fmt.Sprintf("the expected downtime, %s, is over the budget of %s", Round(window), Round(m.DowntimeBudget)))
	}
	return p
}

// manual lists what the window leaves to people, in Mastodon's own
// commands: what lives only on the source server (Sidekiq's queues in
// Redis, the TLS certificates) and the tasks a new server needs once the
// service runs there.
func (p *Plan) manual(in Input) {
	if svc := MovedService(in.Target); svc != nil && svc.App == model.AppMastodon {
		// The app cosocial deployed: Caddy gets its own certificate, and
		// Mastodon's tasks run in the deployment's Compose project.
		tasks := app.ComposeCommand(app.Spec{App: svc.App, Name: svc.Name}, "", "run --rm --no-deps tasks bin/tootctl")
		p.Manual = append(p.Manual,
			"Before the window, at the source: let Sidekiq drain (its queues live in the source's Redis and are not moved; the target's Redis starts empty): "+
				"`redis-cli llen queue:default` (and queue:push, queue:pull, queue:mailers) should reach 0 once new posts stop.",
			fmt.Sprintf("After switch-dns, at the target: `%s feeds build` (home feeds live in Redis), and with Elasticsearch `%s search deploy`. "+
				"Caddy there asks Let's Encrypt for %s's certificate itself once the name resolves to it.", tasks, tasks, svc.Domain),
		)
		p.cnames(in)
		return
	}
	domain := ""
	for _, s := range in.Target.Services {
		if domain == "" {
			domain = s.Domain
		}
	}
	p.Manual = append(p.Manual,
		"Before the window, at the source: let Sidekiq drain (its queues live in the source's Redis and are not moved): "+
			"`redis-cli llen queue:default` (and queue:push, queue:pull, queue:mailers) should reach 0 once new posts stop, or copy Redis whole: "+
			"`redis-cli save`, then /var/lib/redis/dump.rdb to the target's /var/lib/redis/ before start-target.",
		fmt.Sprintf("After switch-dns, at the target, once the name resolves there: `sudo certbot --nginx -d %s` (the certificates stay on the source server).", domain),
		"After switch-dns, at the target, as the mastodon user in ~/live: `RAILS_ENV=production bin/tootctl feeds build` (home feeds live in Redis), "+
			"and with Elasticsearch `RAILS_ENV=production bin/tootctl search deploy`.",
	)
	p.cnames(in)
}

// cnames: a CNAME to anything but a switched host is left pointing where
// it did.
func (p *Plan) cnames(in Input) {
	switched := map[string]bool{}
	for _, r := range in.Facts.Records {
		if r.Type == "A" || r.Type == "AAAA" {
			switched[strings.TrimSuffix(r.Host, ".")] = true
		}
	}
	for _, r := range in.Facts.Records {
		if r.Type != "CNAME" {
			continue
		}
		target := strings.TrimSuffix(r.Data, ".")
		if switched[target] {
			continue // it follows the A record the switch changes
		}
		p.Manual = append(p.Manual, fmt.Sprintf("%s is a CNAME to %s, which the switch does not change: after switch-dns, point it at the target "+
			"(at DigitalOcean: `doctl compute domain records list <zone>`, then `doctl compute domain records update <zone> --record-id <id> --record-data <new target>`).", r.Host, r.Data))
	}
}

func (p *Plan) bucket(in Input, pr Pair, add func(Step)) {
	f, ok := in.Facts.Buckets[pr.Addr.Name]
	if !ok {
		p.Blockers = append(p.Blockers, fmt.Sprintf("the source has no bucket for %s", pr.Addr))
		return
	}
	s := Step{Name: "copy-" + pr.Addr.Name + "-objects", What: fmt.Sprintf("copy %s (%s) to the target, verifying each object", pr.Addr, f.CloudName),
		Bytes: f.Bytes, Objects: f.Objects}
	if in.Speed.ObjectsPerSecond > 0 && in.Speed.BytesPerSecond > 0 {
		// Small objects are bound by requests, large ones by bandwidth.
		s.Estimate = max(seconds(float64(f.Objects)/in.Speed.ObjectsPerSecond), seconds(float64(f.Bytes)/in.Speed.BytesPerSecond))
	}
	add(s)
}

func (p *Plan) database(in Input, pr Pair, add func(Step)) {
	f, ok := in.Facts.Databases[pr.Addr.Name]
	if !ok {
		p.Blockers = append(p.Blockers, fmt.Sprintf("the source has no database for %s", pr.Addr))
		return
	}
	target, _ := pr.Target.(*model.Database)
	if target != nil && f.Version != "" && target.Version != "" && major(target.Version) < major(f.Version) {
		p.Blockers = append(p.Blockers, fmt.Sprintf("%s runs %s %s at the source; the target's version %s is older, and PostgreSQL cannot be restored into an older major version",
			pr.Addr, f.Engine, f.Version, target.Version))
	}
	if target != nil && target.DiskGB > 0 && f.DataBytes > 0 && float64(f.DataBytes) > 0.8*float64(target.DiskGB)*1e9 {
		p.Blockers = append(p.Blockers, fmt.Sprintf("%s holds %s, over 80 %% of the target's %d GB disk: grow disk_gb first (`cosocial db resize`)", pr.Addr, objectstore.HumanBytes(f.DataBytes), target.DiskGB))
	}
	var est time.Duration
	if in.Speed.DatabaseBytesPerSecond > 0 {
		// A restore writes the tables and then builds their indexes: about
		// twice the time it takes to read them.
		est = seconds(2 * float64(f.DataBytes) / in.Speed.DatabaseBytesPerSecond)
	}
	if in.LowDowntime {
		add(Step{Name: "replicate-" + pr.Addr.Name, What: fmt.Sprintf("copy %s and keep it in step by logical replication until cutover", pr.Addr), Bytes: f.DataBytes, Estimate: est})
		add(Step{Name: "final-" + pr.Addr.Name + "-sync", What: "wait for replication to catch up, set the sequences, stop replicating", Estimate: CatchUp, Downtime: true})
		return
	}
	add(Step{Name: "dump-restore-" + pr.Addr.Name, What: fmt.Sprintf("dump %s and restore it at the target, in parallel, with writers stopped", pr.Addr), Bytes: f.DataBytes, Estimate: est, Downtime: true})
}

// dns judges the records the switch will change. Until a record's TTL
// runs out, resolvers keep sending members to the stopped source, so the
// TTL is part of the window: it must fit in what the budget leaves after
// the other steps (window).
func (p *Plan) dns(in Input, window time.Duration) time.Duration {
	var longest time.Duration
	budget := in.Target.Migration.DowntimeBudget
	room := budget - window
	sorted := append([]RecordFacts(nil), in.Facts.Records...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Host < sorted[j].Host })
	for _, r := range sorted {
		longest = max(longest, r.TTL)
		if budget > 0 && r.TTL > room {
			advice := fmt.Sprintf("lower it to %s or less at least %s before the window", Round(max(room, 0).Truncate(time.Minute)), Round(r.TTL))
			if room < time.Minute {
				advice = "the rest of the window leaves no room for it: lengthen the budget"
			}
			p.Blockers = append(p.Blockers, fmt.Sprintf("the %s record of %s has a TTL of %s, and the rest of the window takes %s of the %s budget: %s",
				r.Type, r.Host, Round(r.TTL), Round(window), Round(budget), advice))
		}
	}
	if len(in.Facts.Records) == 0 {
		p.Warnings = append(p.Warnings, "no DNS records of the services' hosts were found at the source: the switch's delay could not be judged")
	}
	return longest
}

func major(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Round shows a duration the way people plan a window: "1 h 5 min",
// "3 min", "1 min 46 s", "9 s".
func Round(d time.Duration) string {
	if d > 0 && d < time.Second {
		return "under 1 s"
	}
	d = d.Round(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case h > 0:
		return fmt.Sprintf("%d h", h)
	case m > 0 && sec > 0:
		return fmt.Sprintf("%d min %d s", m, sec)
	case m > 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d s", sec)
}

// JournalDir is where a migration's journals are kept: beside the
// target's stack, one folder per migration.
func JournalDir(stackDir string, m *model.Migration) string {
	return filepath.Join(stackDir, "migrations", m.Name)
}

// AwaitingCutover are the services of the target (by address) whose
// server is moved by its migration, while the cutover has not switched
// the DNS: up writes their files and starts nothing, since started they
// would write into the database being copied to. Nil once the cutover is
// done, or without a migration.
func AwaitingCutover(target *model.Description, stackDir string) map[string]bool {
	m := target.Migration
	if m == nil || m.Source == nil {
		return nil
	}
	steps, _ := journal.Read(filepath.Join(JournalDir(stackDir, m), "journal.json"))
	for _, s := range steps {
		if s.Name == "switch-dns" && s.State == journal.Done {
			return nil
		}
	}
	out := map[string]bool{}
	for _, s := range movedServices(target) {
		out[s.Addr().String()] = true
	}
	return out
}

// MovedService is the target's service on the server its migration moves:
// the app the cutover stops at the source and starts at the target.
func MovedService(target *model.Description) *model.Service {
	if moved := movedServices(target); len(moved) > 0 {
		return moved[0]
	}
	return nil
}

// movedServices are the target's services on a server its migration
// pairs with the source's.
func movedServices(target *model.Description) []*model.Service {
	pairs, _, _ := Pairs(target)
	var out []*model.Service
	for _, p := range pairs {
		if p.Addr.Kind != model.KindServer {
			continue
		}
		for _, s := range target.Services {
			if s.Server.Name == p.Addr.Name {
				out = append(out, s)
			}
		}
	}
	return out
}
