package remote

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mastodon is an app that fails its first bootingFor health checks, as
// Puma does while it boots, then answers instance with body.
func mastodon(t *testing.T, bootingFor int32, instance string) (*httptest.Server, *atomic.Int32, *atomic.Int32) {
	var health, inst atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if health.Add(1) <= bootingFor {
			http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
			return
		}
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("GET /api/v1/instance", func(w http.ResponseWriter, r *http.Request) {
		inst.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(instance))
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, &health, &inst
}

func TestHealthWaitsForTheAppToBoot(t *testing.T) {
	s, health, inst := mastodon(t, 2, `{"uri":"cosocial.ca","title":"CoSocial"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := Health(ctx, s.Client(), s.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if health.Load() != 3 || inst.Load() != 1 {
		t.Errorf("health hit %d times, instance %d; want 3 and 1", health.Load(), inst.Load())
	}
}

func TestHealthAcceptsTheV2InstanceShape(t *testing.T) {
	s, _, inst := mastodon(t, 0, `{"domain":"cosocial.ca"}`)
	if err := Health(context.Background(), s.Client(), s.URL); err != nil {
		t.Fatal(err)
	}
	if inst.Load() != 1 {
		t.Error("instance endpoint never hit")
	}
}

// TestHealthGivesUpAtTheDeadline: an app that keeps answering wrong is
// retried until the deadline, and the error keeps what the app said. The
// deadline here is an event: the context ends when the app has been asked
// three times, so the verdict does not depend on how fast the machine is.
func TestHealthGivesUpAtTheDeadline(t *testing.T) {
	var health atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if health.Add(1) > 3 {
			cancel() // the deadline comes during the fourth attempt
			<-r.Context().Done()
			return
		}
		w.Write([]byte("OK"))
	})
	mux.HandleFunc("GET /api/v1/instance", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<html>Welcome to nginx!</html>`))
	})
	s := httptest.NewServer(mux)
	defer s.Close()
	err := Health(ctx, s.Client(), s.URL)
	var he *HealthError
	if !errors.As(err, &he) || he.Attempts != 4 || !strings.Contains(err.Error(), "did not answer JSON") || !strings.Contains(err.Error(), "no answer before the deadline") {
		t.Fatalf("Health = %v, want a HealthError after 4 attempts keeping the app's last answer", err)
	}
	t.Log(err)
}

func TestHealthWantsOK(t *testing.T) {
	mux := http.NewServeMux()
	var hits atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) > 2 {
			cancel() // the deadline, as an event: after two answers
		}
		w.Write([]byte("maintenance"))
	})
	s := httptest.NewServer(mux)
	defer s.Close()
	err := Health(ctx, s.Client(), s.URL)
	if err == nil || !strings.Contains(err.Error(), `"maintenance"`) || hits.Load() == 0 {
		t.Errorf("Health = %v", err)
	}
}
