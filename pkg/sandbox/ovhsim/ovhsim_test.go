package ovhsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goovh "github.com/ovh/go-ovh/ovh"
)

// TestSignatureMatchesGoOVHTestVector checks verification against the
// vector in go-ovh's own tests: GET https://eu.api.ovh.com/1.0/auth at
// 1457018875 signs to $1$e9556054b6309771395efa467c22e627407461ad.
func TestSignatureMatchesGoOVHTestVector(t *testing.T) {
	s, err := New(Options{
		Credentials: Credentials{ApplicationKey: "app", ApplicationSecret: "9ufkBmLaTQ9nz5yMUlg79taH0GNnzDjk", ConsumerKey: "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY"},
		Clock:       func() time.Time { return time.Unix(1457018875, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for sig, want := range map[string]int{
		"$1$e9556054b6309771395efa467c22e627407461ad": http.StatusNotFound, // authenticated; /auth is not a route here
		"$1$0000000000000000000000000000000000000000": http.StatusBadRequest,
	} {
		req := httptest.NewRequest(http.MethodGet, "https://eu.api.ovh.com/1.0/auth", nil)
		req.Header.Set("X-Ovh-Application", "app")
		req.Header.Set("X-Ovh-Consumer", "5mBuy6SUQcRw2ZUxg0cG68BoDKpED4KY")
		req.Header.Set("X-Ovh-Timestamp", "1457018875")
		req.Header.Set("X-Ovh-Signature", sig)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var body apiError
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != want || rec.Header().Get("X-Ovh-QueryID") == "" {
			t.Errorf("signature %s: %d %+v, want %d", sig, rec.Code, body, want)
		}
	}
}

func client(t *testing.T, opts Options) (*Server, *goovh.Client) {
	t.Helper()
	opts.Credentials = Credentials{ApplicationKey: "ak", ApplicationSecret: "as", ConsumerKey: "ck"}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c, err := goovh.NewClient(srv.URL+"/1.0", "ak", "as", "ck")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestInstanceStatusesAnd404AfterDelete(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s, c := client(t, Options{Clock: func() time.Time { return now }, Timing: Timing{InstanceBuild: 30 * time.Second, InstanceDelete: 10 * time.Second}})
	var flavors []struct{ ID, Name string }
	if err := c.Get("/cloud/project/p/flavor?region=BHS5", &flavors); err != nil || len(flavors) == 0 {
		t.Fatalf("flavors: %v %v", flavors, err)
	}
	var images []struct{ ID, Name string }
	if err := c.Get("/cloud/project/p/image?osType=linux&region=BHS5", &images); err != nil {
		t.Fatal(err)
	}
	var in struct {
		ID, Status  string
		IPAddresses []any `json:"ipAddresses"`
	}
	body := map[string]any{"name": "web", "flavorId": flavors[0].ID, "imageId": images[0].ID, "region": "BHS5"}
	if err := c.Post("/cloud/project/p/instance", body, &in); err != nil || in.Status != "BUILD" || len(in.IPAddresses) != 0 {
		t.Fatalf("create: %+v %v", in, err)
	}
	now = now.Add(31 * time.Second)
	if err := c.Get("/cloud/project/p/instance/"+in.ID, &in); err != nil || in.Status != "ACTIVE" || len(in.IPAddresses) != 2 {
		t.Fatalf("after build: %+v %v", in, err)
	}
	if err := c.Delete("/cloud/project/p/instance/"+in.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Get("/cloud/project/p/instance/"+in.ID, &in); err != nil || in.Status != "DELETING" {
		t.Fatalf("while deleting: %+v %v", in, err)
	}
	now = now.Add(11 * time.Second)
	err := c.Get("/cloud/project/p/instance/"+in.ID, &in)
	if api, ok := err.(*goovh.APIError); !ok || api.Code != 404 || api.Class != "Client::NotFound" {
		t.Fatalf("after delete: %v", err)
	}
	var log []string
	for _, r := range s.Requests() {
		log = append(log, r.Method+" "+r.Path)
	}
	if !strings.Contains(strings.Join(log, "\n"), "DELETE /1.0/cloud/project/p/instance/"+in.ID) {
		t.Errorf("request log lacks the delete: %v", log)
	}
}

func TestDNSRecordListsAreBareIDs(t *testing.T) {
	_, c := client(t, Options{Zones: []string{"example.ca"}})
	var rec struct{ ID int64 }
	if err := c.Post("/domain/zone/example.ca/record", map[string]any{"fieldType": "A", "subDomain": "www", "target": "192.0.2.1", "ttl": 60}, &rec); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := c.Get("/domain/zone/example.ca/record?fieldType=A&subDomain=www", &ids); err != nil || len(ids) != 1 || ids[0] != rec.ID {
		t.Fatalf("ids = %v, %v", ids, err)
	}
	err := c.Get("/domain/zone/unknown.ca/record", &ids)
	if api, ok := err.(*goovh.APIError); !ok || api.Code != 404 || api.Message != "This service does not exist" {
		t.Fatalf("unknown zone: %v", err)
	}
}

func TestUnsignedCallsAreRefused(t *testing.T) {
	s, _ := client(t, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/1.0/cloud/project/p/instance")
	if err != nil {
		t.Fatal(err)
	}
	var body apiError
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || body.Class != "Client::Unauthorized" {
		t.Fatalf("unsigned: %d %+v", resp.StatusCode, body)
	}
	// /auth/time is the one route that needs no signature.
	resp, err = http.Get(srv.URL + "/1.0/auth/time")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("auth/time: %v %v", resp.Status, err)
	}
	resp.Body.Close()
}

// TestTheAPISpeaksAsOVHcloud checks what a client nobody on the project
// wrote relies on: a region's own route, an SSH key's fingerprint as
// ssh-keygen prints it, an instance's plan code in a listing, and an
// unknown consumer key refused in the authentication layer's words.
func TestTheAPISpeaksAsOVHcloud(t *testing.T) {
	s, c := client(t, Options{})
	var region struct {
		Name, Status string
		Services     []struct{ Name, Status string }
	}
	if err := c.Get("/cloud/project/p/region/BHS5", &region); err != nil || region.Name != "BHS5" || region.Status != "UP" || len(region.Services) == 0 {
		t.Fatalf("region: %+v, %v", region, err)
	}
	if err := c.Get("/cloud/project/p/region/XYZ1", &region); err == nil {
		t.Fatal("an unknown region was found")
	}

	dir := t.TempDir()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "k")).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "k.pub"))
	out, err := exec.Command("ssh-keygen", "-E", "md5", "-lf", filepath.Join(dir, "k.pub")).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(strings.Fields(string(out))[1], "MD5:")
	var key struct{ FingerPrint string }
	if err := c.Post("/cloud/project/p/sshkey", map[string]any{"name": "volunteer", "publicKey": strings.TrimSpace(string(pub)), "region": "BHS5"}, &key); err != nil || key.FingerPrint != want {
		t.Fatalf("fingerPrint %q, ssh-keygen says %q (%v)", key.FingerPrint, want, err)
	}

	var flavors []struct{ ID string }
	var images []struct{ ID string }
	if err := c.Get("/cloud/project/p/flavor?region=BHS5", &flavors); err != nil {
		t.Fatal(err)
	}
	if err := c.Get("/cloud/project/p/image?osType=linux&region=BHS5", &images); err != nil {
		t.Fatal(err)
	}
	if err := c.Post("/cloud/project/p/instance", map[string]any{"name": "web", "flavorId": flavors[0].ID, "imageId": images[0].ID, "region": "BHS5"}, nil); err != nil {
		t.Fatal(err)
	}
	var list []struct{ PlanCode *string }
	if err := c.Get("/cloud/project/p/instance", &list); err != nil || len(list) != 1 || list[0].PlanCode == nil || !strings.HasSuffix(*list[0].PlanCode, ".consumption") {
		t.Fatalf("listed instances' planCode: %+v, %v", list, err)
	}

	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/1.0/cloud/project/p/instance", nil)
	req.Header.Set("X-Ovh-Application", "ak")
	req.Header.Set("X-Ovh-Consumer", "never-issued")
	req.Header.Set("X-Ovh-Timestamp", "1")
	req.Header.Set("X-Ovh-Signature", "$1$0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body apiError
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 403 || body.ErrorCode != "NOT_CREDENTIAL" || body.HTTPCode != "403 Forbidden" || body.Message != "This credential does not exist" {
		t.Fatalf("an unknown consumer key: %d %+v", resp.StatusCode, body)
	}
}
