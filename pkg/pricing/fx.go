package pricing

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ValetEndpoint is the Bank of Canada's Valet API; ValetEnv replaces it
// (the sandbox serves its own).
const (
	ValetEndpoint = "https://www.bankofcanada.ca/valet"
	ValetEnv      = "COSOCIAL_VALET_ENDPOINT"
	// USDCAD is the Bank of Canada's daily US dollar rate series.
	USDCAD = "FXUSDCAD"
)

// Rate is an exchange rate the Bank of Canada published for a day:
// Value Canadian dollars per unit of the other currency.
type Rate struct {
	Series  string    `json:"series"`
	Value   float64   `json:"value"`
	Date    string    `json:"date"`
	Source  string    `json:"source"`
	Fetched time.Time `json:"fetched"`
	Sandbox bool      `json:"sandbox,omitempty"`
	// Kept says why an earlier run's rate is used: the live one could not
	// be read.
	Kept string `json:"kept_because,omitempty"`
}

// String says the rate and its day: "1.3985 CAD per USD (Bank of Canada,
// 2026-12-03)".
func (r *Rate) String() string {
	s := fmt.Sprintf("%.4f CAD per USD (Bank of Canada, %s)", r.Value, r.Date)
	if r.Sandbox {
		s += ", the sandbox's invented rate"
	}
	if r.Kept != "" {
		s += ", kept by an earlier run"
	}
	return s
}

// GetPublic reads a public JSON document (a price catalog, a rate) of at
// most limit bytes: no credentials, and anything but 200 is an error
// naming the URL.
func GetPublic(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s", url, resp.Status)
	}
	return body, nil
}

// valetObservations is Valet's /observations/{series}/json document.
type valetObservations struct {
	Observations []map[string]json.RawMessage `json:"observations"`
}

// FetchRate reads the latest observation of series at Valet's endpoint.
func FetchRate(ctx context.Context, endpoint, series string, now time.Time) (*Rate, error) {
	if endpoint == "" {
		endpoint = ValetEndpoint
	}
	url := strings.TrimRight(endpoint, "/") + "/observations/" + series + "/json?recent=1"
	body, err := GetPublic(ctx, url, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("reading the Bank of Canada's rate: %w", err)
	}
	var doc valetObservations
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the Bank of Canada's rate (%s): %w", url, err)
	}
	if len(doc.Observations) == 0 {
		return nil, fmt.Errorf("the Bank of Canada published no %s observation (%s)", series, url)
	}
	last := doc.Observations[len(doc.Observations)-1]
	var day string
	var obs struct {
		V string `json:"v"`
	}
	if json.Unmarshal(last["d"], &day) != nil || json.Unmarshal(last[series], &obs) != nil {
		return nil, fmt.Errorf("the Bank of Canada's %s observation has no date or value (%s)", series, url)
	}
	v, err := strconv.ParseFloat(obs.V, 64)
	if err != nil || v <= 0 {
		return nil, fmt.Errorf("the Bank of Canada's %s of %s is %q, not a rate", series, day, obs.V)
	}
	return &Rate{Series: series, Value: v, Date: day, Source: url, Fetched: now}, nil
}

func rateFile(stackDir, series string) string {
	return keptFile(stackDir, "rate-"+strings.ToLower(series))
}

// SaveRate keeps a rate beside the stack, as lists are.
func SaveRate(stackDir string, r *Rate) error { return keep(rateFile(stackDir, r.Series), r) }

// LoadRate reads the rate an earlier run kept.
func LoadRate(stackDir, series string) (*Rate, error) {
	var r Rate
	if err := kept(rateFile(stackDir, series), &r); err != nil {
		return nil, err
	}
	return &r, nil
}
