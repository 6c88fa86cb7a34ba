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

func TestHealthGivesUpAtTheDeadline(t *testing.T) {
	s, _, inst := mastodon(t, 0, `<html>Welcome to nginx!</html>`)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Health(ctx, s.Client(), s.URL)
	var he *HealthError
	if !errors.As(err, &he) || he.Attempts < 2 || !strings.Contains(err.Error(), "did not answer JSON") {
		t.Fatalf("Health = %v, want a HealthError after retries", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Health overran its deadline: %s", time.Since(start))
	}
	if inst.Load() < 2 {
		t.Errorf("instance hit %d times", inst.Load())
	}
	t.Log(err)
}

func TestHealthWantsOK(t *testing.T) {
	mux := http.NewServeMux()
	var hits atomic.Int32
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("maintenance"))
	})
	s := httptest.NewServer(mux)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	err := Health(ctx, s.Client(), s.URL)
	if err == nil || !strings.Contains(err.Error(), `"maintenance"`) || hits.Load() == 0 {
		t.Errorf("Health = %v", err)
	}
}
