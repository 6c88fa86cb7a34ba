// Package simcore is what every provider simulator shares: its records
// kept as a JSON file written atomically, its request log, its injected
// faults, and the real database clusters behind its managed databases.
// Each simulator keeps its own wire format; nothing here speaks to a
// client.
package simcore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Load reads the records saved at path into v. A missing file, or an
// empty path, leaves v as it is: the simulator starts with no records.
func Load(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading simulator state %s: %w", path, err)
	}
	return nil
}

// Save writes v to path as indented JSON; an empty path keeps nothing.
// The records go to a temporary file renamed over the old one, so that a
// simulator stopped mid-write leaves the previous records readable. The
// file is private (0600): a simulator may keep passwords in it.
func Save(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Log is a simulator's request log: kept in memory for tests to read,
// and appended to a file, one JSON line per request, for people to read.
type Log[R any] struct {
	mu  sync.Mutex
	all []R
	f   *os.File
}

// OpenLog starts a log that also appends to path, unless path is empty.
func OpenLog[R any](path string) (*Log[R], error) {
	l := &Log[R]{}
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		l.f = f
	}
	return l, nil
}

// Add records one request. A line the file refuses is lost, not an
// error: the request it describes has been answered already.
func (l *Log[R]) Add(req R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, req)
	if l.f != nil {
		b, _ := json.Marshal(req)
		l.f.Write(append(b, '\n'))
	}
}

// All returns the requests recorded so far.
func (l *Log[R]) All() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]R(nil), l.all...)
}

// Close closes the file; requests recorded after are kept in memory only.
func (l *Log[R]) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Answered serves with a writer that notes the status answered, and
// returns it, for the request log.
func Answered(w http.ResponseWriter, serve func(http.ResponseWriter)) int {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	serve(rec)
	return rec.status
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Faults are the failures a real API produces under load.
type Faults struct {
	// Burst answers this many requests with 429 before any succeeds.
	Burst int
	// Rate answers this share of requests with one of Codes.
	Rate  float64
	Codes []int
	Seed  uint64
	// Lose is the share of creates (POSTs) that are carried out but
	// answered 502, as when a gateway loses the answer on its way back;
	// LoseOn, when set, limits it to paths ending so.
	Lose   float64
	LoseOn []string
}

// Injector decides which requests fail. For a given Faults and stream it
// fails the same requests every run, so a test that meets a failure meets
// it again.
type Injector struct {
	mu     sync.Mutex
	f      Faults
	stream uint64
	burst  int
	rng    *rand.Rand
}

// NewInjector injects f. Each simulator has its own stream, so that the
// same seed given to two simulators does not fail their requests in step.
func NewInjector(f Faults, stream uint64) *Injector {
	in := &Injector{stream: stream}
	in.Set(f)
	return in
}

// Set starts injecting f afresh, its burst included.
func (in *Injector) Set(f Faults) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.f, in.burst = f, f.Burst
	in.rng = rand.New(rand.NewPCG(f.Seed, in.stream))
}

// Next says how the next request is to fail: a status code, or 0 for not
// at all.
func (in *Injector) Next() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.burst > 0 {
		in.burst--
		return http.StatusTooManyRequests
	}
	if f := in.f; f.Rate > 0 && len(f.Codes) > 0 && in.rng.Float64() < f.Rate {
		return f.Codes[in.rng.IntN(len(f.Codes))]
	}
	return 0
}

// LoseAnswer says whether a request's answer is to be lost once it is
// carried out.
func (in *Injector) LoseAnswer(method, path string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	f := in.f
	if method != http.MethodPost || f.Lose <= 0 {
		return false
	}
	if len(f.LoseOn) > 0 && !slices.ContainsFunc(f.LoseOn, func(suffix string) bool { return strings.HasSuffix(path, suffix) }) {
		return false
	}
	return in.rng.Float64() < f.Lose
}

// Clusters runs real database clusters behind a simulator's managed
// databases. The sandbox's one serves every simulator; cluster IDs are
// UUIDs, so theirs never meet.
type Clusters interface {
	// Engines lists the engines it can run ("postgresql").
	Engines() []string
	// CreateCluster creates and starts a cluster with a default database
	// "defaultdb" and returns where it listens.
	CreateCluster(ctx context.Context, id, engine, version string) (host string, port int, err error)
	// StartCluster starts an existing cluster again (after a restart of the
	// sandbox) and returns where it listens.
	StartCluster(ctx context.Context, id string) (host string, port int, err error)
	DeleteCluster(ctx context.Context, id string) error
}

// Runs reports whether c runs engine. A nil c runs none: the simulator
// was started without real servers.
func Runs(c Clusters, engine string) bool {
	return c != nil && slices.Contains(c.Engines(), engine)
}

// StartClusters starts the clusters ids again, after a restart of the
// sandbox, and passes where each now listens to started: a cluster may
// come back on another port. The first that fails stops it, as the
// simulator's records would then point at a server that is not there.
func StartClusters(ctx context.Context, c Clusters, ids []string, started func(id, host string, port int)) error {
	for _, id := range ids {
		host, port, err := c.StartCluster(ctx, id)
		if err != nil {
			return fmt.Errorf("starting database cluster %s: %w", id, err)
		}
		started(id, host, port)
	}
	return nil
}

// Machines plays the servers a simulator makes (the sandbox's
// machines): a server the simulator creates gets a machine from its
// cloud-init, reachable over SSH, and loses it when deleted. The
// simulator's records keep no user data (it may hold secrets); the
// machine keeps what a server's disk would: its host and login keys.
type Machines interface {
	Boot(ctx context.Context, id, public, userData string) error
	Halt(ctx context.Context, id string) error
}
