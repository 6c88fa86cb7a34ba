package views

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cosocial/cosocial/pkg/dbplan"
)

// The board's markdown carries each clean-up's caveat, as the table for
// the volunteers does, and both show the indexes' bloat.
func TestMeasurementMarkdownKeepsTheCaveats(t *testing.T) {
	m := &dbplan.Measurement{Database: "mastodon", Server: "15.8", BloatBytes: 3e6, IndexBloatBytes: 5e6,
		Tables: []dbplan.Table{{Name: "statuses", TableBytes: 1e7, IndexBytes: 8e6, Rows: 1000, BloatBytes: 3e6, IndexBloatBytes: 5e6}}}
	savings := []dbplan.Saving{{What: "remote statuses older than 90 days", Where: dbplan.InDatabase, Rows: 10, Bytes: 4096,
		Command: "tootctl statuses remove --days 90", Note: "keeping those of any followed account"}}
	for _, markdown := range []bool{true, false} {
		var b bytes.Buffer
		Measurement(&b, m, savings, markdown)
		for _, want := range []string{"keeping those of any followed account", "5.0 MB in their indexes"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("markdown %v lacks %q:\n%s", markdown, want, b.String())
			}
		}
	}
}

func TestTheForecastNamesWhatGrows(t *testing.T) {
	since := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	fc := &dbplan.Forecast{Drivers: []dbplan.TableGrowth{{Table: "statuses", Since: since, Bytes: 4.1e9, Share: 0.82}, {Table: "media_attachments", Since: since, Bytes: 5e8, Share: 0.1}}}
	want := "Growing most since 2026-10-01: statuses +4.1 GB (82 %), media_attachments +500.0 MB (10 %) of the database's growth."
	if got := driversText(fc); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := driversText(&dbplan.Forecast{}); got != "" {
		t.Errorf("without tables: %q", got)
	}
}
