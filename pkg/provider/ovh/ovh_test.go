package ovh_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	goovh "github.com/ovh/go-ovh/ovh"

	"github.com/cosocial/cosocial/pkg/mysqlserver"
	"github.com/cosocial/cosocial/pkg/provider"
	"github.com/cosocial/cosocial/pkg/provider/ovh"
	"github.com/cosocial/cosocial/pkg/provider/providertest"
	"github.com/cosocial/cosocial/pkg/sandbox"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
	"github.com/cosocial/cosocial/pkg/sandbox/sandboxtest"
)

// start runs a sandbox with real backends and returns a client of it.
func start(t *testing.T, faults ovhsim.Faults, backends bool) (*sandbox.Sandbox, *ovh.Cloud) {
	t.Helper()
	sb := sandboxtest.Start(t, sandbox.Options{Projects: []string{"contract"}, Zones: []string{"example.ca"}, Faults: faults, NoBackends: !backends})
	cloud, err := ovh.New(ovh.Config{
		Endpoint: sb.OVHEndpoint(), Project: "contract", Region: "BHS5",
		ApplicationKey: sb.Credentials.ApplicationKey, ApplicationSecret: sb.Credentials.ApplicationSecret, ConsumerKey: sb.Credentials.ConsumerKey,
		Poll: 20 * time.Millisecond, Backoff: provider.Backoff{Attempts: provider.DefaultBackoff.Attempts, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb, cloud
}

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPKcontractkeycontractkeycontractkeyAAAA contract"

func TestServerContract(t *testing.T) {
	_, cloud := start(t, ovhsim.Faults{}, false)
	providertest.Servers(t, providertest.ServerCase{Servers: cloud, Region: "BHS5", Flavor: "b3-8", BiggerFlavor: "b3-16", Image: "Debian 12", SSHKey: sshKey})
}

func TestDNSContract(t *testing.T) {
	sb, cloud := start(t, ovhsim.Faults{}, false)
	providertest.DNS(t, cloud, "example.ca")
	// Every change was published: the last refresh left the zone empty.
	if recs := sb.OVH.Published("example.ca"); len(recs) != 0 {
		t.Errorf("published records after delete: %+v", recs)
	}
}

func TestDatabaseContract(t *testing.T) {
	_, cloud := start(t, ovhsim.Faults{}, true)
	providertest.Databases(t, providertest.DatabaseCase{
		Databases: cloud,
		Spec: provider.DatabaseSpec{
			Name: "contract-main", Region: "BHS5", Engine: "postgresql", Version: "16", Plan: "essential",
			Flavor: "db1-4", Nodes: 1, DiskGB: 80, Databases: []string{"mastodon"}, Users: []string{"mastodon"},
			AllowedIPs: []string{"192.0.2.0/24"},
		},
		LargerGB: 120,
	})
}

// TestMySQLDatabaseContract: Castopod's MySQL, served in the sandbox by a
// real MariaDB server.
func TestMySQLDatabaseContract(t *testing.T) {
	if _, _, err := mysqlserver.Programs(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	_, cloud := start(t, ovhsim.Faults{}, true)
	providertest.Databases(t, providertest.DatabaseCase{
		Databases: cloud,
		Spec: provider.DatabaseSpec{
			Name: "contract-podcasts", Region: "BHS5", Engine: "mysql", Version: "8", Plan: "essential",
			Flavor: "db1-4", Nodes: 1, DiskGB: 20, Databases: []string{"castopod"}, Users: []string{"castopod"},
			AllowedIPs: []string{"192.0.2.0/24"},
		},
		LargerGB: 30,
	})
}

func TestBucketContract(t *testing.T) {
	_, cloud := start(t, ovhsim.Faults{}, true)
	providertest.Buckets(t, providertest.BucketCase{Buckets: cloud, Region: "BHS5", Name: "contract-media"})
}

// TestRateLimitStormStillSucceeds answers the first six requests with 429,
// then one in three with 429, 500 or 503: with as many attempts as the
// default policy allows, every call still succeeds, and no create is sent
// twice.
func TestRateLimitStormStillSucceeds(t *testing.T) {
	sb, cloud := start(t, ovhsim.Faults{Burst: 6, Rate: 0.33, Codes: []int{429, 500, 503}, Seed: 7}, false)
	providertest.Servers(t, providertest.ServerCase{Servers: cloud, Region: "BHS5", Flavor: "b3-8", BiggerFlavor: "b3-16", Image: "Debian 12", SSHKey: sshKey})
	var limited, creates, failedCreates int
	for _, r := range sb.OVH.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
		if r.Method == http.MethodPost && r.Path == "/1.0/cloud/project/contract/instance" {
			creates++
			if r.Status != http.StatusOK {
				failedCreates++
			}
		}
	}
	if limited < 6 {
		t.Errorf("only %d requests were rate-limited", limited)
	}
	if creates-failedCreates != 1 {
		t.Errorf("%d instance creations went through, want exactly 1", creates-failedCreates)
	}
}

// scaledDefault is DefaultBackoff a hundred times faster: the same shape,
// so the number of tries it makes is the default's.
var scaledDefault = provider.Backoff{
	Attempts: provider.DefaultBackoff.Attempts, Base: provider.DefaultBackoff.Base / 100,
	Max: provider.DefaultBackoff.Max / 100, Budget: provider.DefaultBackoff.Budget / 100,
}

// TestTheRetryBudgetIsWhatItSays: the default policy rides out a burst of
// twenty 429s in a row (it failed after about 15 s before), and under a
// refusal that never ends it waits out its whole budget before giving up
// with OVHcloud's own answer, never more than its attempts. The budget
// counts waits, so neither verdict depends on how busy the machine is.
func TestTheRetryBudgetIsWhatItSays(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		burst   int
		succeed bool
	}{{20, true}, {1000, false}} {
		sb, _ := start(t, ovhsim.Faults{Burst: tc.burst}, false)
		cloud, err := ovh.New(ovh.Config{
			Endpoint: sb.OVHEndpoint(), Project: "contract", Region: "BHS5",
			ApplicationKey: sb.Credentials.ApplicationKey, ApplicationSecret: sb.Credentials.ApplicationSecret, ConsumerKey: sb.Credentials.ConsumerKey,
			Poll: 20 * time.Millisecond, Backoff: scaledDefault,
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = cloud.Server(ctx, "no-such-id")
		elapsed := time.Since(start)
		tries := 0
		for _, r := range sb.OVH.Requests() {
			if strings.HasSuffix(r.Path, "/instance/no-such-id") {
				tries++
			}
		}
		if tc.succeed {
			// The 21st try gets past the burst and meets the real answer.
			if !errors.Is(err, provider.ErrNotFound) || tries != tc.burst+1 {
				t.Errorf("burst of %d: %d requests, %v", tc.burst, tries, err)
			}
			continue
		}
		var api *provider.APIError
		if !errors.As(err, &api) || api.Status != http.StatusTooManyRequests {
			t.Errorf("endless refusals: want OVHcloud's 429, got %v", err)
		}
		if least := scaledDefault.Budget - scaledDefault.Max; elapsed < least || tries > scaledDefault.Attempts {
			t.Errorf("endless refusals: gave up after %s and %d tries; want at least %s of waiting and at most %d tries", elapsed, tries, least, scaledDefault.Attempts)
		}
	}
}

// TestErrorsCarryTheProvidersWords checks that a refused request fails at
// once with OVHcloud's class and message.
func TestErrorsCarryTheProvidersWords(t *testing.T) {
	_, cloud := start(t, ovhsim.Faults{}, false)
	ctx := context.Background()
	_, err := cloud.CreateServer(ctx, provider.ServerSpec{Name: "x", Region: "BHS5", Flavor: "b3-8", Image: "Windows 95"})
	if err == nil || err.Error() != `OVHcloud has no image "Windows 95" in BHS5 (it has Debian 12, Debian 11, Ubuntu 24.04, Ubuntu 22.04, Rocky Linux 9)` {
		t.Errorf("unknown image: %v", err)
	}
	_, err = cloud.Server(ctx, "no-such-id")
	var api *provider.APIError
	if !errors.Is(err, provider.ErrNotFound) || !errors.As(err, &api) || api.Class != "Client::NotFound" || api.QueryID == "" {
		t.Errorf("missing server: %v", err)
	}
}

func TestWrongCredentialsAreRefused(t *testing.T) {
	sb, _ := start(t, ovhsim.Faults{}, false)
	for _, tc := range []struct {
		ak, as, ck string
		status     int
		class      string
	}{
		{sb.Credentials.ApplicationKey, "wrong-secret", sb.Credentials.ConsumerKey, 400, "Client::BadRequest"},
		{"unknown-app", sb.Credentials.ApplicationSecret, sb.Credentials.ConsumerKey, 403, "Client::Forbidden"},
		{sb.Credentials.ApplicationKey, sb.Credentials.ApplicationSecret, "revoked", 403, "Client::Forbidden"},
	} {
		cloud, err := ovh.New(ovh.Config{Endpoint: sb.OVHEndpoint(), Project: "contract", Region: "BHS5", ApplicationKey: tc.ak, ApplicationSecret: tc.as, ConsumerKey: tc.ck, Backoff: provider.Backoff{Attempts: 1}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cloud.Server(context.Background(), "x")
		var api *provider.APIError
		if !errors.As(err, &api) || api.Status != tc.status || api.Class != tc.class {
			t.Errorf("credentials %s/%s: %v, want %d %s", tc.ak, tc.ck, err, tc.status, tc.class)
		}
	}
}

func TestLeftoversContract(t *testing.T) {
	_, cloud := start(t, ovhsim.Faults{}, true)
	providertest.Leftovers(t, providertest.LeftoverCase{
		Leftovers: cloud, Servers: cloud, Buckets: cloud, Databases: cloud, Region: "BHS5", Flavor: "b3-8", Image: "Debian 12",
		Database: provider.DatabaseSpec{Name: "contract-orphan-db", Region: "BHS5", Engine: "postgresql", Version: "16", Plan: "essential", Flavor: "db1-4", Nodes: 1, DiskGB: 80},
	})
}

// TestABucketsLoneUserIsALeftover: a create killed after the bucket's user
// was made, before the bucket, leaves a user that owns nothing; it is found
// by the description the create gave it, and removed.
func TestABucketsLoneUserIsALeftover(t *testing.T) {
	sb, cloud := start(t, ovhsim.Faults{}, true)
	api, err := goovh.NewClient(sb.OVHEndpoint(), sb.Credentials.ApplicationKey, sb.Credentials.ApplicationSecret, sb.Credentials.ConsumerKey)
	if err != nil {
		t.Fatal(err)
	}
	var user struct {
		ID int64 `json:"id"`
	}
	if err := api.Post("/cloud/project/contract/user", map[string]string{"description": "cosocial: bucket lone-media", "role": "objectstore_operator"}, &user); err != nil {
		t.Fatal(err)
	}
	if err := api.Post("/cloud/project/contract/user", map[string]string{"description": "someone else's", "role": "objectstore_operator"}, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	found, err := cloud.Leftovers(ctx, provider.KindBucket, "BHS5", "lone-media", nil)
	if err != nil || len(found) != 1 || found[0].Kind != provider.KindS3User || found[0].ID != strconv.FormatInt(user.ID, 10) {
		t.Fatalf("leftovers = %v, %v; want S3 user %d alone", found, err, user.ID)
	}
	if err := cloud.RemoveLeftover(ctx, found[0]); err != nil {
		t.Fatal(err)
	}
	if again, err := cloud.Leftovers(ctx, provider.KindBucket, "BHS5", "lone-media", nil); err != nil || len(again) != 0 {
		t.Fatalf("after removing: %v, %v", again, err)
	}
}

// TestALostCreateAnswerMakesNoSecondOne: the API makes the server, the
// cluster or the S3 user but its answer is lost (a 502 from a gateway):
// the create finds what it made and goes on with it, and there is one.
func TestALostCreateAnswerMakesNoSecondOne(t *testing.T) {
	ctx := context.Background()
	t.Run("server", func(t *testing.T) {
		sb, cloud := start(t, ovhsim.Faults{Lose: 1, LoseOn: []string{"/instance"}}, false)
		s, err := cloud.CreateServer(ctx, provider.ServerSpec{Name: "lost-web", Region: "BHS5", Flavor: "b3-8", Image: "Debian 12"})
		if err != nil {
			t.Fatal(err)
		}
		if n := sb.OVH.Live("instances"); n != 1 || s.Status != "ACTIVE" {
			t.Fatalf("%d instances, the one returned %+v", n, s)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		sb, cloud := start(t, ovhsim.Faults{Lose: 1, LoseOn: []string{"/database/postgresql"}}, true)
		db, _, err := cloud.CreateDatabase(ctx, provider.DatabaseSpec{Name: "lost-main", Region: "BHS5", Engine: "postgresql", Version: "16", Plan: "essential", Flavor: "db1-4", Nodes: 1, DiskGB: 80, Users: []string{"app"}, Databases: []string{"app"}})
		if err != nil {
			t.Fatal(err)
		}
		if n := sb.OVH.Live("clusters"); n != 1 || db.Status != "READY" {
			t.Fatalf("%d clusters, the one returned %+v", n, db)
		}
	})
	t.Run("bucket user", func(t *testing.T) {
		sb, cloud := start(t, ovhsim.Faults{Lose: 1, LoseOn: []string{"/project/contract/user"}}, true)
		if _, _, err := cloud.CreateBucket(ctx, provider.BucketSpec{Name: "lost-media", Region: "BHS5"}); err != nil {
			t.Fatal(err)
		}
		if n := sb.OVH.Live("users"); n != 1 {
			t.Fatalf("%d S3 users", n)
		}
	})
}
