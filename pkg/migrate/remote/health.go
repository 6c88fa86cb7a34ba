package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthWait bounds Health when its context has no deadline: long enough
// for Mastodon's web and streaming containers to boot.
const healthWait = 3 * time.Minute

// HealthError is an app that did not come up healthy in time.
type HealthError struct {
	BaseURL  string
	Attempts int
	Waited   time.Duration
	Last     error
}

func (e *HealthError) Error() string {
	return fmt.Sprintf("%s is not healthy after %d attempts over %s: %v", e.BaseURL, e.Attempts, e.Waited.Round(time.Second), e.Last)
}

func (e *HealthError) Unwrap() error { return e.Last }

// Health waits for the Mastodon at baseURL to answer as a healthy
// instance: GET /health gives 200 "OK" (Rails is up) and GET
// /api/v1/instance gives 200 JSON naming the instance (the database is
// reachable, since that is read from it). It retries, backing off from
// half a second to five, until both pass or ctx ends (three minutes when
// ctx has no deadline).
//
// To check a server before DNS points at it, pass a client whose
// Transport dials that server's address, and the public URL as baseURL,
// so that TLS and Rails' host check see the real name. nil means a client
// with a ten-second timeout per request.
func Health(ctx context.Context, client *http.Client, baseURL string) error {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, healthWait)
		defer cancel()
	}
	base := strings.TrimRight(baseURL, "/")
	start := time.Now()
	wait := 500 * time.Millisecond
	var answered error // the last thing the app itself said was wrong
	for attempt := 1; ; attempt++ {
		err := checkHealth(ctx, client, base)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
			answered = err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(err, ctx.Err()) {
				// The deadline cut an attempt short: what the app said
				// before it is the reason worth reading.
				err = fmt.Errorf("no answer before the deadline: %w", err)
				if answered != nil {
					err = fmt.Errorf("no answer before the deadline; before that: %w", answered)
				}
			}
			return &HealthError{BaseURL: base, Attempts: attempt, Waited: time.Since(start), Last: err}
		case <-t.C:
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func checkHealth(ctx context.Context, client *http.Client, base string) error {
	body, err := get(ctx, client, base+"/health")
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) != "OK" {
		return fmt.Errorf("GET /health answered %q, want \"OK\"", snippet(body))
	}
	body, err = get(ctx, client, base+"/api/v1/instance")
	if err != nil {
		return err
	}
	var inst struct {
		URI    string `json:"uri"`
		Domain string `json:"domain"`
	}
	if err := json.Unmarshal(body, &inst); err != nil {
		return fmt.Errorf("GET /api/v1/instance did not answer JSON (%v): %q", err, snippet(body))
	}
	if inst.URI == "" && inst.Domain == "" {
		return fmt.Errorf("GET /api/v1/instance answered JSON with neither uri nor domain: %q", snippet(body))
	}
	return nil
}

func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, text/plain")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %s: %q", req.URL.Path, resp.Status, snippet(body))
	}
	return body, nil
}

// snippet is enough of a body to tell a proxy's error page from the app.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
