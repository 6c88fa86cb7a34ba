package simcore

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type records struct {
	Seq   int               `json:"seq"`
	Names map[string]string `json:"names"`
}

func TestSaveThenLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deep", "sim.json")
	want := records{Seq: 3, Names: map[string]string{"a": "b"}}
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	var got records
	if err := Load(path, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded %+v, %v; want %+v", got, err, want)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v: it may hold passwords", info.Mode(), err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left behind: %v", err)
	}
}

// A simulator killed mid-write leaves a partial temporary file; the
// records it saved before must still load, and the next save must win.
func TestACrashMidWriteKeepsTheOldRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	old := records{Seq: 1}
	if err := Save(path, old); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", []byte(`{"seq": 2, "na`), 0o600); err != nil {
		t.Fatal(err)
	}
	var got records
	if err := Load(path, &got); err != nil || got.Seq != 1 {
		t.Fatalf("after a crash: %+v, %v; want the old records", got, err)
	}
	if err := Save(path, records{Seq: 3}); err != nil {
		t.Fatal(err)
	}
	if err := Load(path, &got); err != nil || got.Seq != 3 {
		t.Fatalf("after saving again: %+v, %v", got, err)
	}
}

func TestAFailedSaveKeepsTheOldRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.json")
	if err := Save(path, records{Seq: 1}); err != nil {
		t.Fatal(err)
	}
	// A folder where the temporary file goes makes the write itself fail.
	if err := os.Mkdir(path+".tmp", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, records{Seq: 2}); err == nil {
		t.Fatal("a save that could not write reported no error")
	}
	if err := Save(path, func() {}); err == nil {
		t.Fatal("a save that could not encode reported no error")
	}
	var got records
	if err := Load(path, &got); err != nil || got.Seq != 1 {
		t.Fatalf("after failed saves: %+v, %v; want the old records", got, err)
	}
}

func TestLoadWithoutRecords(t *testing.T) {
	want := records{Seq: 7}
	got := want
	if err := Load(filepath.Join(t.TempDir(), "missing.json"), &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("a missing file: %+v, %v; want the records untouched", got, err)
	}
	if err := Load("", &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("no file: %+v, %v", got, err)
	}
	if err := Save("", records{Seq: 8}); err != nil {
		t.Fatalf("saving nowhere: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	if err := Load(bad, &got); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("a corrupt file: %v; want an error naming it", err)
	}
}

type entry struct {
	Path   string `json:"path"`
	Status int    `json:"status"`
}

func TestLogKeepsAndWritesEachRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "requests.log")
	os.WriteFile(path, []byte(`{"path":"/before","status":200}`+"\n"), 0o600)
	l, err := OpenLog[entry](path)
	if err != nil {
		t.Fatal(err)
	}
	l.Add(entry{"/a", 200})
	l.Add(entry{"/b", 404})
	all := l.All()
	all[0].Path = "changed"
	if got := l.All(); !reflect.DeepEqual(got, []entry{{"/a", 200}, {"/b", 404}}) {
		t.Fatalf("All = %+v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Add(entry{"/after-close", 200})
	if n := len(l.All()); n != 3 {
		t.Errorf("after Close the log holds %d requests, want 3", n)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("log file %q: want the earlier line and two new ones", b)
	}
	var e entry
	if err := json.Unmarshal([]byte(lines[2]), &e); err != nil || e != (entry{"/b", 404}) {
		t.Fatalf("last line %q: %+v %v", lines[2], e, err)
	}
	if l, err := OpenLog[entry](""); err != nil || l.Close() != nil {
		t.Fatalf("a log in memory only: %v", err)
	}
}

func TestAnswered(t *testing.T) {
	for want, serve := range map[int]func(http.ResponseWriter){
		http.StatusOK:       func(w http.ResponseWriter) { w.Write([]byte("{}")) },
		http.StatusNotFound: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) },
	} {
		w := httptest.NewRecorder()
		if got := Answered(w, serve); got != want || w.Code != want {
			t.Errorf("Answered = %d (client saw %d), want %d", got, w.Code, want)
		}
	}
}

func draw(in *Injector, n int) []int {
	codes := make([]int, n)
	for i := range codes {
		codes[i] = in.Next()
	}
	return codes
}

func TestFaultsAreTheSameForASeed(t *testing.T) {
	f := Faults{Rate: 0.3, Codes: []int{429, 500, 503}, Seed: 7}
	a, b := draw(NewInjector(f, 1), 200), draw(NewInjector(f, 1), 200)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed failed different requests")
	}
	f.Seed = 8
	if reflect.DeepEqual(a, draw(NewInjector(f, 1), 200)) {
		t.Error("another seed failed the same requests")
	}
	f.Seed = 7
	if reflect.DeepEqual(a, draw(NewInjector(f, 2), 200)) {
		t.Error("another stream failed the same requests")
	}
	in := NewInjector(Faults{}, 1)
	draw(in, 5)
	in.Set(f)
	if !reflect.DeepEqual(a, draw(in, 200)) {
		t.Error("Set did not start the seed's failures afresh")
	}
}

func TestBurstThenRate(t *testing.T) {
	in := NewInjector(Faults{Burst: 3, Rate: 0.5, Codes: []int{500, 503}, Seed: 1}, 1)
	codes := draw(in, 1000)
	if !reflect.DeepEqual(codes[:3], []int{429, 429, 429}) {
		t.Fatalf("burst: %v", codes[:3])
	}
	failed := 0
	for _, c := range codes[3:] {
		switch c {
		case 0:
		case 500, 503:
			failed++
		default:
			t.Fatalf("injected %d, not one of Codes", c)
		}
	}
	if failed < 400 || failed > 600 {
		t.Errorf("%d of 997 requests failed at rate 0.5", failed)
	}
	if codes := draw(NewInjector(Faults{Burst: 2}, 1), 5); !reflect.DeepEqual(codes, []int{429, 429, 0, 0, 0}) {
		t.Errorf("burst alone: %v", codes)
	}
	if codes := draw(NewInjector(Faults{Rate: 1}, 1), 3); !reflect.DeepEqual(codes, []int{0, 0, 0}) {
		t.Errorf("a rate without codes injected %v", codes)
	}
}

type engines []string

func (e engines) Engines() []string { return e }
func (engines) CreateCluster(context.Context, string, string, string) (string, int, error) {
	return "", 0, nil
}
func (engines) DeleteCluster(context.Context, string) error { return nil }

// StartCluster starts any cluster but "broken", on a port of its id's
// length.
func (engines) StartCluster(_ context.Context, id string) (string, int, error) {
	if id == "broken" {
		return "", 0, errors.New("initdb left nothing")
	}
	return "127.0.0.1", len(id), nil
}

func TestRuns(t *testing.T) {
	if !Runs(engines{"mysql", "postgresql"}, "postgresql") || Runs(engines{"mysql"}, "postgresql") {
		t.Error("Runs does not follow Engines")
	}
	// As a simulator started without backends passes its own interface.
	var none interface {
		Clusters
		CreateAdmin(ctx context.Context, id, name, password string) error
	}
	if Runs(none, "postgresql") {
		t.Error("no backend runs an engine")
	}
}

func TestStartClusters(t *testing.T) {
	got := map[string]int{}
	note := func(id, host string, port int) { got[id] = port }
	if err := StartClusters(context.Background(), engines{}, []string{"a", "bb"}, note); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string]int{"a": 1, "bb": 2}) {
		t.Fatalf("started %v", got)
	}
	clear(got)
	err := StartClusters(context.Background(), engines{}, []string{"a", "broken", "ccc"}, note)
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "initdb left nothing") {
		t.Fatalf("error %v: want it to name the cluster and say why", err)
	}
	if !reflect.DeepEqual(got, map[string]int{"a": 1}) {
		t.Errorf("after a failure, started %v", got)
	}
}
