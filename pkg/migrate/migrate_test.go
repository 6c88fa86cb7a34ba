package migrate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/model"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

func target(t *testing.T) *model.Description {
	t.Helper()
	res := config.Load("../../stacks/cosocial")
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics)
	}
	return res.Description
}

func TestPairs(t *testing.T) {
	pairs, left, added := Pairs(target(t))
	var got []string
	for _, p := range pairs {
		got = append(got, p.Addr.String())
	}
	if strings.Join(got, " ") != "server.web database.main bucket.media" {
		t.Errorf("pairs %v", got)
	}
	if len(left) != 0 || len(added) != 5 {
		t.Errorf("left %v added %v", left, added)
	}
}

// TestStockAndPlanOnTheSandbox takes stock of a rehearsal source in the
// sandbox's DigitalOcean and plans the move to CoSocial's target.
func TestStockAndPlanOnTheSandbox(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Options{})
	ctx := context.Background()
	cloud := sandboxDO(t, sb)
	desc := target(t)
	seeded, err := rehearse.Seed(ctx, cloud, desc.Migration.Source, "tor1", rehearse.Options{Statuses: 2000, Objects: 120, Seed: 1, MakeBucket: sb.CreateSpacesBucket, SpacesEndpoint: sb.SpacesEndpoint()})
	if err != nil {
		t.Fatal(err)
	}
	stock, err := TakeStock(ctx, desc, Source{Cloud: cloud, Region: "tor1", SpacesEndpoint: sb.SpacesEndpoint()})
	if err != nil {
		t.Fatal(err)
	}
	defer stock.Close(ctx)
	f := stock.Facts
	if s := f.Servers["web"]; s.CloudName != "cosocial-web" || s.IPv4 == "" || s.Size != "s-8vcpu-16gb" {
		t.Errorf("server %+v", s)
	}
	if d := f.Databases["main"]; d.CloudName != "cosocial-main" || d.Version != "15" || d.DataBytes < 1<<20 || d.DiskBytes == 0 {
		t.Errorf("database %+v", d)
	}
	if b := f.Buckets["media"]; b.CloudName != "cosocial-media" || b.Objects != seeded.Buckets["media"][0] || b.Bytes != seeded.Buckets["media"][1] {
		t.Errorf("bucket %+v, seeded %v", b, seeded.Buckets["media"])
	}
	if len(f.Records) != 2 || f.Records[0].Host != "cosocial.ca" || f.Records[0].TTL != time.Hour || f.Records[1].Host != "media.cosocial.ca" {
		t.Errorf("records %+v", f.Records)
	}
	for _, w := range stock.Warnings {
		t.Errorf("warning: %s", w)
	}

	b := stock.Buckets["media"]
	speed, err := Probe(ctx, &b, stock.Databases["main"], 8)
	if err != nil {
		t.Fatal(err)
	}
	if speed.ObjectsPerSecond <= 0 || speed.BytesPerSecond <= 0 || speed.DatabaseBytesPerSecond <= 0 {
		t.Fatalf("speed %+v", speed)
	}

	created := map[string]bool{"server.web": true, "database.main": true, "bucket.media": true}
	in := Input{Target: desc, Facts: f, Speed: speed, Created: created, LowDowntime: true, WritesPerDay: 250e6}
	p := MakePlan(in)
	// An hour's TTL does not fit a five-minute window: both hosts block.
	if len(p.Blockers) != 3 || !strings.Contains(p.Blockers[0], "A record of cosocial.ca has a TTL of 1 h, and the rest of the window takes 1 min") ||
		!strings.Contains(p.Blockers[0], "lower it to 3 min or less at least 1 h before the window") ||
		!strings.Contains(p.Blockers[1], "media.cosocial.ca") || !strings.Contains(p.Blockers[2], "is over the budget of 5 min") {
		t.Fatalf("blockers %q", p.Blockers)
	}
	copyStep := step(t, p, "copy-media-objects")
	if copyStep.Objects != b0(f) || copyStep.Estimate <= 0 || copyStep.Downtime {
		t.Errorf("copy step %+v", copyStep)
	}
	if s := step(t, p, "replicate-main"); s.Downtime || s.Bytes != f.Databases["main"].DataBytes {
		t.Errorf("replication step %+v", s)
	}
	// With the TTLs lowered to a minute, the window fits the budget.
	for i := range in.Facts.Records {
		in.Facts.Records[i].TTL = time.Minute
	}
	p = MakePlan(in)
	if len(p.Blockers) != 0 || p.Downtime > p.Budget || p.Downtime < StartApp {
		t.Fatalf("blockers %q, downtime %s of %s", p.Blockers, p.Downtime, p.Budget)
	}
	// A dump and restore puts the database copy in the window.
	in.LowDowntime = false
	d := MakePlan(in)
	dump := step(t, d, "dump-restore-main")
	if !dump.Downtime || dump.Estimate <= 0 || d.Downtime != p.Downtime-CatchUp+dump.Estimate {
		t.Errorf("dump/restore %+v: downtime %s vs %s", dump, d.Downtime, p.Downtime)
	}
}

func b0(f Facts) int64 { return f.Buckets["media"].Objects }

func step(t *testing.T, p *Plan, name string) Step {
	t.Helper()
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s in %+v", name, p.Steps)
	return Step{}
}

func TestPlanBlockers(t *testing.T) {
	desc := target(t)
	facts := Facts{
		Databases: map[string]DatabaseFacts{"main": {Engine: "pg", Version: "17", DataBytes: 150e9}},
		Buckets:   map[string]BucketFacts{"media": {Objects: 1e6, Bytes: 300e9}},
		Records:   []RecordFacts{{Host: "cosocial.ca", Type: "A", TTL: time.Minute}},
	}
	p := MakePlan(Input{Target: desc, Facts: facts, Created: map[string]bool{"bucket.media": true}, LowDowntime: true})
	want := []string{
		"server.web is not stood up in the target yet",
		"database.main is not stood up in the target yet",
		"database.main runs pg 17 at the source; the target's version 16 is older",
		"over 80 % of the target's 160 GB disk",
	}
	all := strings.Join(p.Blockers, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("blockers lack %q:\n%s", w, all)
		}
	}
	// Without a probe there are no estimates, and the plan does not invent any.
	if s := step(t, p, "copy-media-objects"); s.Estimate != 0 {
		t.Errorf("estimated without a measured speed: %+v", s)
	}
	if len(p.Moves) != 0 {
		t.Errorf("moves without an owner function: %v", p.Moves)
	}
}

func TestRound(t *testing.T) {
	for d, want := range map[time.Duration]string{9 * time.Second: "9 s", 106 * time.Second: "1 min 46 s", 3 * time.Minute: "3 min", time.Hour: "1 h", 65 * time.Minute: "1 h 5 min"} {
		if got := Round(d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}

// TestPlanListsWhatIsLeftToPeople: what the window does not do comes with
// its commands; a CNAME to a switched host follows it, one to anywhere
// else is a step by hand.
func TestPlanListsWhatIsLeftToPeople(t *testing.T) {
	desc := target(t)
	facts := Facts{
		Databases: map[string]DatabaseFacts{"main": {Engine: "pg", Version: "16", DataBytes: 1e9}},
		Buckets:   map[string]BucketFacts{"media": {Objects: 10, Bytes: 1e6}},
		Records: []RecordFacts{
			{Host: "cosocial.ca", Type: "A", TTL: time.Minute, Data: "203.0.113.5"},
			{Host: "www.cosocial.ca", Type: "CNAME", TTL: time.Minute, Data: "cosocial.ca."},
			{Host: "files.cosocial.ca", Type: "CNAME", TTL: time.Minute, Data: "cosocial.tor1.cdn.digitaloceanspaces.com."},
		},
	}
	p := MakePlan(Input{Target: desc, Facts: facts, LowDowntime: true})
	all := strings.Join(p.Manual, "\n")
	// The Mastodon cosocial deploys: its tasks in its Compose project,
	// its certificate Caddy's to get.
	for _, want := range []string{"redis-cli llen queue:default", "docker-compose -p 'cosocial-mastodon-cosocial' -f compose.yaml run --rm --no-deps tasks bin/tootctl feeds build",
		"bin/tootctl search deploy", "Caddy there asks Let's Encrypt for cosocial.ca's certificate",
		"files.cosocial.ca is a CNAME to cosocial.tor1.cdn.digitaloceanspaces.com."} {
		if !strings.Contains(all, want) {
			t.Errorf("manual steps lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "www.cosocial.ca is a CNAME") || strings.Contains(all, "certbot") {
		t.Errorf("a CNAME that follows the switched A record, or certbot, is listed:\n%s", all)
	}
	// Without a service on the moved server, the steps of an app set up
	// by hand.
	desc.Services = nil
	all = strings.Join(MakePlan(Input{Target: desc, Facts: facts, LowDowntime: true}).Manual, "\n")
	for _, want := range []string{"certbot --nginx -d ", "RAILS_ENV=production bin/tootctl feeds build"} {
		if !strings.Contains(all, want) {
			t.Errorf("manual steps by hand lack %q:\n%s", want, all)
		}
	}
}
