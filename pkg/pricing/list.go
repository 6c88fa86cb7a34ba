package pricing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// List is one provider kind's prices as it publishes them, dated. Each is
// a monthly price, in Currency, of one item (see the Item functions).
type List struct {
	Kind     string `json:"kind"`
	Currency string `json:"currency"`
	// Source is where the list was read: the API's URL.
	Source  string    `json:"source"`
	Fetched time.Time `json:"fetched"`
	// Sandbox marks the sandbox's simulated prices: never a real offer.
	Sandbox bool              `json:"sandbox,omitempty"`
	Monthly map[string]Amount `json:"monthly"`
	// EgressPerGB is what a gigabyte leaving the cloud costs beyond the
	// EgressFreeGB a month includes; 0 where leaving is free or unpriced.
	EgressPerGB  Amount  `json:"egress_per_gb,omitempty"`
	EgressFreeGB float64 `json:"egress_free_gb,omitempty"`
	// EgressSource is where the egress price is read.
	EgressSource string `json:"egress_source,omitempty"`
}

// The items a list prices, by what a description declares.

// ServerItem is a server of a flavor, per month.
func ServerItem(flavor string) string { return "server/" + flavor }

// DatabaseNodeItem is one node of a managed database cluster of an engine,
// plan and flavor, per month.
func DatabaseNodeItem(engine, plan, flavor string) string {
	return "database/" + engine + "/" + plan + "/" + flavor
}

// ObjectStorageGBItem is a gigabyte kept in standard object storage for a
// month.
const ObjectStorageGBItem = "bucket/gb"

// Price finds an item's monthly price.
func (l *List) Price(item string) (Amount, bool) {
	if l == nil {
		return 0, false
	}
	a, ok := l.Monthly[item]
	return a, ok
}

// Age is how old the list is at now, in whole days.
func (l *List) Age(now time.Time) int {
	return int(now.Sub(l.Fetched).Hours() / 24)
}

// keptFile is where a price list or rate is kept in a stack folder.
func keptFile(stackDir, name string) string {
	return filepath.Join(stackDir, "prices", name+".json")
}

// keep writes v to path whole (a reader never sees half a file).
func keep(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ErrNoList is Load's answer when no list was ever kept.
var ErrNoList = errors.New("no price list kept")

// kept reads what keep wrote at path into v; ErrNoList when nothing was.
func kept(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoList
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Save keeps the list in the stack folder, for a run without network.
func (l *List) Save(stackDir string) error { return keep(keptFile(stackDir, l.Kind), l) }

// Load reads the kind's last kept list.
func Load(stackDir, kind string) (*List, error) {
	path := keptFile(stackDir, kind)
	var l List
	if err := kept(path, &l); err != nil {
		return nil, err
	}
	if l.Kind != kind {
		return nil, fmt.Errorf("%s holds %q prices, not %q", path, l.Kind, kind)
	}
	return &l, nil
}
