package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cosocial/cosocial/pkg/localserver"
	"github.com/cosocial/cosocial/pkg/migrate/journal"
	"github.com/cosocial/cosocial/pkg/migrate/objects"
	"github.com/cosocial/cosocial/pkg/migrate/rehearse"
	"github.com/cosocial/cosocial/pkg/migrate/remote"
	"github.com/cosocial/cosocial/pkg/migrate/remote/sshdtest"
	"github.com/cosocial/cosocial/pkg/objectstore"
	"github.com/cosocial/cosocial/pkg/provider/digitalocean"
)

func TestMain(m *testing.M) {
	if os.Getenv("COSOCIAL_STAND_IN") == "mastodon" {
		standIn()
		return
	}
	os.Exit(m.Run())
}

// standIn plays Mastodon on an app server: it reads .env.production from
// its folder, answers /health and /api/v1/instance, and keeps writing —
// a post every 20 ms and a media file every 100 ms — to the database and
// the bucket its environment names, until it is stopped.
func standIn() {
	raw, err := os.ReadFile(".env.production")
	if err != nil {
		os.Exit(3)
	}
	env, err := remote.ParseEnv(raw)
	if err != nil {
		os.Exit(3)
	}
	if _, err := os.Stat("refuse-to-start"); err == nil {
		os.Exit(4) // how a test breaks the target's start
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// As Rails does: DATABASE_URL first, the DB_* settings otherwise.
	dsn := env["DATABASE_URL"]
	if dsn == "" {
		dsn = (&url.URL{Scheme: "postgres", User: url.UserPassword(env["DB_USER"], env["DB_PASS"]), Host: net.JoinHostPort(env["DB_HOST"], env["DB_PORT"]),
			Path: "/" + env["DB_NAME"], RawQuery: "sslmode=disable"}).String()
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		os.Exit(5)
	}
	u, _ := url.Parse(env["S3_ENDPOINT"])
	s3, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""), Secure: u.Scheme == "https", Region: "us-east-1"})
	if err != nil {
		os.Exit(6)
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "OK") })
	http.HandleFunc("/api/v1/instance", func(w http.ResponseWriter, r *http.Request) {
		// The port of the database it really writes to.
		json.NewEncoder(w).Encode(map[string]string{"uri": env["LOCAL_DOMAIN"], "db_port": strconv.Itoa(int(conn.Config().Port)), "bucket": env["S3_BUCKET"]})
	})
	srv := &http.Server{Addr: "127.0.0.1:" + env["PORT"]}
	go srv.ListenAndServe()
	defer srv.Close()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := conn.Exec(ctx, `INSERT INTO statuses (uri, text, account_id, local) VALUES ($1, 'written while migrating', 1, true)`,
			fmt.Sprintf("live-%d-%d", os.Getpid(), n)); err != nil && ctx.Err() == nil {
			os.Exit(7)
		}
		if n%5 == 0 {
			body := []byte(fmt.Sprintf("media %d of %d", n, os.Getpid()))
			s3.PutObject(ctx, env["S3_BUCKET"], fmt.Sprintf("media_attachments/files/live/%d-%d.jpg", os.Getpid(), n), bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{ContentType: "image/jpeg"})
		}
	}
}

// The app's commands on both servers, as a Mastodon install's systemd
// units would be: start in the background, stop and wait until it is gone.
func appCommands(bin string) App {
	return App{
		Start: fmt.Sprintf(`cd ~ && (COSOCIAL_STAND_IN=mastodon setsid %s >app.log 2>&1 </dev/null & echo $! > app.pid)`, bin),
		// A zombie has stopped: this machine's init reaps the orphans a
		// second or more late, where systemd's would at once.
		Stop: `cd ~ && if [ -f app.pid ]; then p=$(cat app.pid); kill $p 2>/dev/null; ` +
			`while case $(ps -o stat= -p $p) in ""|Z*) false;; esac; do sleep 0.05; done; rm -f app.pid; fi`,
		EnvFile: ".env.production",
	}
}

// TestCutoverLosesNothing moves a running Mastodon stand-in from the
// sandbox's DigitalOcean to a target database and bucket, over SSH to two
// accounts of a real sshd: root plays the source server, an account made
// for the test the target. The app writes posts and media throughout; a first cutover
// fails at the target's start and must leave the source running as it
// was; the second goes through, and nothing written is lost.
func TestCutoverLosesNothing(t *testing.T) {
	// Dump and restore in the window; and low-downtime, where the undone
	// window must leave replication running again for the next one. The
	// target login is a managed service's owner, no superuser; in
	// low-downtime mode it subscribes through aiven_extras, as on
	// OVHcloud.
	t.Run("dump-restore", func(t *testing.T) { cutoverLosesNothing(t, false) })
	t.Run("low-downtime", func(t *testing.T) { cutoverLosesNothing(t, true) })
}

func cutoverLosesNothing(t *testing.T, lowDowntime bool) {
	w := newWindow(t, windowOptions{lowDowntime: lowDowntime, seed: rehearse.Options{Statuses: 3000, Objects: 150, Seed: 2}})
	ctx := context.Background()
	cloud, stock, src, tgt, app, health, j, r, dns, conns := w.cloud, w.stock, w.src, w.tgt, w.app, w.health, w.j, w.r, w.dns, w.conns
	targetDSN, srcURL, srcBucket := w.targetDSN, w.srcURL, w.srcBucket

	// The bulk copy while the app writes.
	if err := r.Bulk(ctx); err != nil {
		t.Fatal(err)
	}
	// A member deletes a picture after the bulk copy: the window's sync
	// must delete it at the target too, or it stays public there.
	srcS3, err := srcBucket.Client()
	if err != nil {
		t.Fatal(err)
	}
	var deletedKey string
	for o := range srcS3.ListObjects(ctx, srcBucket.Name, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if !strings.Contains(o.Key, "/live/") {
			deletedKey = o.Key
			break
		}
	}
	if err := srcS3.RemoveObject(ctx, srcBucket.Name, deletedKey, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// A setting that still names the source stops the window before the
	// writers stop: members notice nothing, the source app runs on.
	env, err := src.ReadFile(ctx, ".env.production")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.WriteFile(ctx, ".env.production", append(slices.Clip(env), "REPLICA_DATABASE_URL="+stock.Databases["main"]+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	var at *SourceSettingError
	if err := r.Cutover(ctx); !errors.As(err, &at) {
		t.Fatalf("a replica URL still at the source: %v", err)
	}
	for _, s := range j.Status() {
		if s.Name == "stop-writers" && s.State != journal.Pending {
			t.Fatalf("the writers were stopped (%s) though the window could not go on", s.State)
		}
	}
	if got := instance(t, health); got["db_port"] != srcURL.Port() {
		t.Fatalf("the source app is not the one answering: %v", got)
	}
	if err := src.WriteFile(ctx, ".env.production", env, 0o600); err != nil {
		t.Fatal(err)
	}
	// A target that will not start: the cutover is undone, and the source
	// app runs again with its own settings.
	if _, _, err := tgt.Run(ctx, "touch ~/refuse-to-start"); err != nil {
		t.Fatal(err)
	}
	if err := r.Cutover(ctx); err == nil || !strings.Contains(err.Error(), "undone") {
		t.Fatalf("a failed start: %v", err)
	}
	if err := remote.Health(ctxFor(t, 20*time.Second), nil, health); err != nil {
		log, _ := src.ReadFile(ctx, "app.log")
		out, _, _ := src.Run(ctx, "cat ~/app.pid; ps aux | grep stand-in")
		t.Fatalf("the source app is not running again after the undo: %v\napp.log: %s\n%s\njournal: %+v", err, log, out, j.Status())
	}
	if got := instance(t, health); got["db_port"] != srcURL.Port() {
		t.Fatalf("after the undo the app answering is not the source's: %v", got)
	}
	if ip := aRecord(t, cloud); ip != dns.SourceIPv4 {
		t.Fatalf("the DNS moved though the cutover failed: %s", ip)
	}
	states := map[string]journal.State{}
	for _, s := range j.Status() {
		states[s.Name] = s.State
	}
	if states["stop-writers"] != journal.Undone || states["switch-dns"] == journal.Done {
		t.Fatalf("journal after the undo: %v", states)
	}
	// Status keeps why: the step that failed, with its error.
	if o := OutcomeOf(j.Status()); o.Done || !strings.Contains(o.Summary, "undone: step health-check failed") {
		t.Fatalf("outcome after the undo: %+v", o)
	}

	// Fixed, the cutover goes through.
	if _, _, err := tgt.Run(ctx, "rm -f ~/refuse-to-start"); err != nil {
		t.Fatal(err)
	}
	if err := r.Cutover(ctx); err != nil {
		t.Fatal(err)
	}
	tURL, _ := url.Parse(targetDSN)
	if got := instance(t, health); got["db_port"] != tURL.Port() || got["bucket"] != "target-media" {
		t.Fatalf("the app answering after the cutover is not the target's: %v", got)
	}
	if ip := aRecord(t, cloud); ip != "203.0.113.50" {
		t.Fatalf("the DNS was not switched: %s", ip)
	}
	// The app at the target writes to the target, and nothing more
	// reaches the source: one database takes writes, not two.
	srcMax := maxID(t, stock.Databases["main"])
	awaitTargetPost(t, targetDSN, srcMax)
	if after := maxID(t, stock.Databases["main"]); after != srcMax {
		t.Fatalf("posts still reach the source after the cutover: %d after %d", after, srcMax)
	}
	// Nothing lost: the source, frozen since stop-writers, and the target
	// hold the same objects and rows, posts written during the copies
	// included.
	if _, _, err := src.Run(ctx, "test ! -f ~/app.pid"); err != nil {
		t.Fatal("the source app still runs")
	}
	// The target app has been writing to the target since it started, so
	// the target holds more than the source: everything the source had
	// must be there, unchanged.
	if err := run(ctx, tgt, app.Stop); err != nil {
		t.Fatal(err)
	}
	for _, c := range Verify(ctx, conns, 8, 1<<30, true) {
		if !c.OK() {
			t.Errorf("%s: verify after the cutover fails: %+v", c.Address, c)
		}
		switch {
		case c.Err != "":
			t.Errorf("%s: %s", c.Address, c.Err)
		case c.Objects != nil && (c.Objects.Missing > 0 || c.Objects.Different > 0 || c.Objects.Unreadable > 0 || c.Objects.Extra == 0):
			t.Errorf("%s: %d missing, %d different, %d unreadable, %d written by the target app", c.Address, c.Objects.Missing, c.Objects.Different, c.Objects.Unreadable, c.Objects.Extra)
		case c.Tables != nil:
			for _, tb := range c.Tables.Tables {
				if !tb.Equal() && (tb.Table != "public.statuses" || tb.TargetRows <= tb.SourceRows) {
					t.Errorf("%s: %+v", tb.Table, tb)
				}
			}
		}
	}
	srcSum, tgtSum := statusSum(t, stock.Databases["main"], -1), statusSum(t, targetDSN, maxID(t, stock.Databases["main"]))
	if srcSum != tgtSum {
		t.Errorf("the source's posts differ at the target: %s vs %s", srcSum, tgtSum)
	}
	var live int
	conn, err := pgx.Connect(ctx, targetDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM statuses WHERE uri LIKE 'live-%'").Scan(&live); err != nil || live < 10 {
		t.Fatalf("posts written while migrating at the target: %d, %v", live, err)
	}
	env, err = tgt.ReadFile(ctx, ".env.production")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(env, []byte("S3_ALIAS_HOST=media.northwind.example.ca\n")) || !bytes.Contains(env, []byte("SECRET_KEY_BASE=kept-as-is\n")) ||
		!bytes.HasPrefix(env, []byte("# Mastodon's settings\n")) {
		t.Fatalf("the target's env lost what it should keep:\n%s", redact(env))
	}
	for _, s := range j.Status() {
		if s.State != journal.Done {
			t.Errorf("step %s is %s", s.Name, s.State)
		}
	}
	if o := OutcomeOf(j.Status()); !o.Done {
		t.Errorf("outcome after the cutover: %+v", o)
	}
	if frozen := Frozen(j.Status()); frozen <= r.Freeze || frozen > time.Hour {
		t.Errorf("the window's freeze, %s, against its database steps' %s", frozen, r.Freeze)
	}
	checked, released := false, !lowDowntime
	for _, s := range j.Status() {
		checked = checked || (s.Name == "check-main-at-switch" && s.State == journal.Done && strings.Contains(s.Detail, "row counts"))
		released = released || (s.Name == "release-main-replication" && s.State == journal.Done)
	}
	if !checked || !released {
		t.Errorf("the database was not compared at the switch (%v) or its replication not released (%v): %+v", checked, released, j.Status())
	}
	dstBucket := conns.Buckets["media"][1].Bucket
	dstS3, err := dstBucket.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dstS3.StatObject(ctx, dstBucket.Name, deletedKey, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("%s, deleted at the source after the bulk copy, at the target: %v", deletedKey, err)
	}
	if list, err := os.ReadFile(r.DeletedList("media")); err != nil || !strings.Contains(string(list), deletedKey+"\n") {
		t.Errorf("the list of deletions lacks %s: %q, %v", deletedKey, list, err)
	}
	t.Logf("posts written during the migration: %d", live)
}

// TestASettingStillAtTheSourceStopsTheWindow: a setting the tool does not
// rewrite that still names the source database or bucket stops the
// cutover before the target starts, naming the key and never its value.
func TestASettingStillAtTheSourceStopsTheWindow(t *testing.T) {
	r := &Runner{Connections: Connections{
		Databases: map[string][2]string{"main": {"postgresql://doadmin:source-secret-pw@db-do.example:25060/defaultdb", "postgresql://mastodon:target-pw@db-ovh.example:5432/mastodon"}},
		Buckets: map[string][2]objects.Endpoint{"media": {
			{Bucket: objectstore.Bucket{Endpoint: "https://tor1.digitaloceanspaces.com", Name: "media", AccessKey: "DO00SOURCEKEY", SecretKey: "source-secret-key"}},
			{Bucket: objectstore.Bucket{Endpoint: "https://s3.bhs.io.cloud.ovh.net", Name: "media", AccessKey: "TARGETKEY1", SecretKey: "target-secret-key"}},
		}},
	}}
	current := map[string]string{"DATABASE_URL": "postgresql://doadmin:source-secret-pw@db-do.example:25060/defaultdb"}
	changes, err := r.envChanges(current)
	if err != nil {
		t.Fatal(err)
	}
	if changes["DATABASE_URL"] != r.Connections.Databases["main"][1] {
		t.Fatalf("DATABASE_URL is not rewritten to the target")
	}
	old := "DATABASE_URL=postgresql://doadmin:source-secret-pw@db-do.example:25060/defaultdb\nDB_HOST=db-do.example\n" +
		"REPLICA_DATABASE_URL=postgresql://doadmin:source-secret-pw@db-do.example:25060/defaultdb\nBACKUP_S3_ENDPOINT=https://tor1.digitaloceanspaces.com\n" +
		"S3_ALIAS_HOST=media.northwind.example.ca\nLOCAL_DOMAIN=northwind.example.ca\n"
	out, err := remote.RewriteEnv([]byte(old), changes)
	if err != nil {
		t.Fatal(err)
	}
	err = r.stillAtSource(out)
	var at *SourceSettingError
	if !errors.As(err, &at) || len(at.Keys) != 2 || !strings.HasPrefix(at.Keys[0], "BACKUP_S3_ENDPOINT") || !strings.HasPrefix(at.Keys[1], "REPLICA_DATABASE_URL") {
		t.Fatalf("settings still at the source: %v", err)
	}
	for _, secret := range []string{"source-secret-pw", "db-do.example:25060", "source-secret-key", "DO00SOURCEKEY"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows %q: %v", secret, err)
		}
	}
	// Without those two, the environment reaches only the target.
	clean := strings.NewReplacer("REPLICA_DATABASE_URL=", "#", "BACKUP_S3_ENDPOINT=", "#").Replace(old)
	if out, err = remote.RewriteEnv([]byte(clean), changes); err != nil {
		t.Fatal(err)
	}
	if err := r.stillAtSource(out); err != nil {
		t.Fatalf("a rewritten environment: %v", err)
	}
}

func redact(env []byte) string {
	var out []string
	for _, l := range strings.Split(string(env), "\n") {
		if k, _, ok := strings.Cut(l, "="); ok && (strings.Contains(k, "PASS") || strings.Contains(k, "SECRET")) {
			l = k + "=…"
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, s *sshdtest.Server, user, knownHosts, keyFile string) *remote.Client {
	t.Helper()
	c, err := remote.Dial(context.Background(), remote.Target{Host: s.Host, Port: s.Port, User: user, KnownHosts: knownHosts, KeyFile: keyFile, AgentSocket: "none"})
	if err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func instance(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/instance")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	json.NewDecoder(resp.Body).Decode(&got)
	return got
}

func aRecord(t *testing.T, cloud *digitalocean.Cloud) string {
	t.Helper()
	inv, err := cloud.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range hostRecords([]string{"northwind.example.ca"}, inv.Domains, "A") {
		return f.record.Data
	}
	t.Fatal("no A record for northwind.example.ca")
	return ""
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	p, err := localserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// account makes a local account for the test, with a home of its own that
// can run bin, to play the target server; it is removed when the test ends.
var accounts atomic.Int64

func account(t testing.TB, bin string) string {
	t.Helper()
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skipf("SKIP: useradd is missing: %v", err)
	}
	name := fmt.Sprintf("cosocial-t%d-%d", os.Getpid()%100000, accounts.Add(1))
	home := filepath.Join(filepath.Dir(bin), "home-"+name)
	// '*' leaves the account without a password but not locked, which
	// sshd would refuse.
	if out, err := exec.Command("useradd", "-M", "-d", home, "-s", "/bin/sh", "-p", "*", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// sshd's session may outlive the client's goodbye by a moment:
		// kill the account's processes and wait until they have ended.
		// Their zombies may linger (this machine's init reaps late), which
		// plain userdel takes for a logged-in user: -f, as none runs.
		exec.Command("pkill", "-KILL", "-u", name).Run()
		exec.Command("pidwait", "-u", name).Run()
		if out, err := exec.Command("userdel", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", name, home).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	return name
}

// awaitTargetPost waits until the app, at the target, writes a post past
// the source's last (after), reading the target's database: the app
// posts on its own clock, so the post is watched for; the minute only
// bounds a hang.
func awaitTargetPost(t *testing.T, targetDSN string, after int64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); maxID(t, targetDSN) <= after; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no post written at the target by the app a minute after the cutover")
		}
	}
}

func maxID(t *testing.T, dsn string) int64 {
	t.Helper()
	var id int64
	query(t, dsn, "SELECT max(id) FROM statuses", &id)
	return id
}

// statusSum is a checksum of the posts up to an id (all when upTo < 0).
func statusSum(t *testing.T, dsn string, upTo int64) string {
	t.Helper()
	var sum string
	query(t, dsn, "SELECT md5(string_agg(id::text || uri || text, ',' ORDER BY id)) FROM statuses WHERE $1 < 0 OR id <= $1", &sum, upTo)
	return sum
}

func query(t *testing.T, dsn, sql string, dst any, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(dst); err != nil {
		t.Fatal(err)
	}
}
