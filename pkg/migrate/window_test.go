package migrate

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/config"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/migrate/remote/sshdtest"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/pgserver"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// window is a move set up to be rehearsed end to end: the sandbox's
// DigitalOcean seeded as the source, a target PostgreSQL and bucket, two
// accounts of a real sshd playing the app servers (root the source, an
// account made for the test the target), and the Mastodon stand-in
// running at the source, writing posts and media. Its Runner has not run.
type window struct {
	sb        *sandbox.Sandbox
	cloud     *digitalocean.Cloud
	stock     *Stock
	targetDSN string
	srcURL    *url.URL
	srcBucket objectstore.Bucket
	src, tgt  *remote.Client
	app       App
	health    string
	j         *journal.Journal
	r         *Runner
	dns       *RecordSwitch
	conns     Connections
}

type windowOptions struct {
	lowDowntime bool
	seed        rehearse.Options // Statuses, Objects and Seed; the rest is the sandbox's
	// grow, when set, enlarges the source database (given as its
	// admin's connection string) before the app starts.
	grow func(tb testing.TB, dsn string)
}

func newWindow(tb testing.TB, o windowOptions) *window {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("SKIP: the window plays two servers with two local accounts (root and postgres), so it runs as root")
	}
	w := &window{sb: sandboxtest.Start(tb, sandbox.Options{})}
	clientKey, keyFile := sshdtest.ClientKey(tb)
	sshd := sshdtest.Start(tb, []string{"ed25519"}, clientKey)
	knownHosts := sshd.KnownHosts(tb, sshd.HostKeys...)
	ctx := context.Background()

	desc := config.Load("testdata/coop")
	if desc.Diagnostics.HasErrors() {
		tb.Fatal(desc.Diagnostics)
	}
	target := desc.Description
	w.cloud = sandboxDO(tb, w.sb)
	seed := o.seed
	seed.MakeBucket, seed.SpacesEndpoint = w.sb.CreateSpacesBucket, w.sb.SpacesEndpoint()
	if _, err := rehearse.Seed(ctx, w.cloud, target.Migration.Source, "tor1", seed); err != nil {
		tb.Fatal(err)
	}
	stock, err := TakeStock(ctx, target, Source{Cloud: w.cloud, Region: "tor1", SpacesEndpoint: w.sb.SpacesEndpoint()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stock.Close(context.Background()) })
	w.stock = stock
	if o.grow != nil {
		o.grow(tb, stock.Databases["main"])
	}

	// The target: a database of its own whose login owns it and is no
	// superuser, as a managed service's; low-downtime mode subscribes
	// through aiven_extras, as OVHcloud's admin does.
	tc, err := pgserver.Create(ctx, filepath.Join(pgserver.TempDir(tb), "target"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tc.Destroy(context.Background()) })
	if err := tc.Exec(ctx, "postgres", "CREATE ROLE mastodon LOGIN PASSWORD 'target-pw'", "CREATE DATABASE mastodon OWNER mastodon"); err != nil {
		tb.Fatal(err)
	}
	if o.lowDowntime {
		if err := sandbox.InstallAivenExtras(ctx, tc, "mastodon"); err != nil {
			tb.Fatal(err)
		}
	}
	w.targetDSN = tc.DSN("mastodon", "target-pw", "mastodon")
	if !strings.HasPrefix(w.targetDSN, "postgres") {
		tb.Fatalf("DSN %s is not a URL", w.targetDSN)
	}
	if err := w.sb.CreateSpacesBucket(ctx, "target-media"); err != nil {
		tb.Fatal(err)
	}
	key, err := w.cloud.CreateSpacesKey(ctx, "target", []string{"target-media"}, "readwrite")
	if err != nil {
		tb.Fatal(err)
	}
	w.conns = Connections{
		Buckets:   map[string][2]objects.Endpoint{"media": {{Bucket: stock.Buckets["media"]}, {Bucket: key.Bucket(w.sb.SpacesEndpoint(), "target-media")}}},
		Databases: map[string][2]string{"main": {stock.Databases["main"], w.targetDSN}},
	}

	// The source app runs with the source's database and bucket.
	bin := filepath.Join(pgserver.TempDir(tb), "mastodon-stand-in")
	copyFile(tb, os.Args[0], bin)
	port := freePort(tb)
	w.src = dial(tb, sshd, "root", knownHosts, keyFile)
	w.tgt = dial(tb, sshd, account(tb, bin), knownHosts, keyFile)
	w.srcURL, _ = url.Parse(stock.Databases["main"])
	srcPW, _ := w.srcURL.User.Password()
	// The app writes with the run's own key: the sandbox's S3 server gives
	// a bucket to one key at a time, where Spaces would let both in.
	w.srcBucket = stock.Buckets["media"]
	// DATABASE_URL, which Rails reads first, as well as the DB_* settings.
	envFile := fmt.Sprintf("# Mastodon's settings\nLOCAL_DOMAIN=northwind.example.ca\nPORT=%d\nDATABASE_URL=%s\nDB_HOST=%s\nDB_PORT=%s\nDB_NAME=%s\nDB_USER=%s\nDB_PASS=%s\n"+
		"S3_ENABLED=true\nS3_ENDPOINT=%s\nS3_BUCKET=%s\nAWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\nS3_ALIAS_HOST=media.northwind.example.ca\nSECRET_KEY_BASE=kept-as-is\n",
		port, stock.Databases["main"], w.srcURL.Hostname(), w.srcURL.Port(), strings.TrimPrefix(w.srcURL.Path, "/"), w.srcURL.User.Username(), srcPW,
		w.sb.SpacesEndpoint(), w.srcBucket.Name, w.srcBucket.AccessKey, w.srcBucket.SecretKey)
	if err := w.src.WriteFile(ctx, ".env.production", []byte(envFile), 0o600); err != nil {
		tb.Fatal(err)
	}
	w.app = appCommands(bin)
	tb.Cleanup(func() {
		w.src.Run(context.Background(), w.app.Stop)
		w.tgt.Run(context.Background(), w.app.Stop)
		w.tgt.Run(context.Background(), "rm -f ~/.env.production ~/app.log ~/refuse-to-start")
		w.src.Run(context.Background(), "rm -f ~/.env.production ~/app.log")
	})
	if err := run(ctx, w.src, w.app.Start); err != nil {
		tb.Fatal(err)
	}
	w.health = fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := remote.Health(ctxFor(tb, 20*time.Second), nil, w.health); err != nil {
		tb.Fatalf("the source app did not come up: %v", err)
	}

	dir := tb.TempDir()
	if w.j, err = journal.Open(filepath.Join(dir, "journal.json")); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.j.Close() })
	w.dns = &RecordSwitch{Cloud: w.cloud, Hosts: Hosts(target.Migration.Source), SourceIPv4: stock.Facts.Servers["web"].IPv4, TargetIPv4: "203.0.113.50"}
	w.r = &Runner{Journal: w.j, Dir: dir, Connections: w.conns, Public: map[string]bool{"media": true}, Width: 8, Source: w.src, Target: w.tgt, App: w.app,
		LowDowntime: o.lowDowntime, HealthURL: w.health, HealthTimeout: 5 * time.Second, DNS: w.dns}
	return w
}
