// Package valetsim plays the Bank of Canada's Valet API for the sandbox:
// the latest observation of the USD/CAD series, in Valet's document
// shape, so that a cost in US dollars converts offline. The rate is
// invented (1.4000), dated the last weekday before the clock's day, and
// docs/sandbox.md says so.
package valetsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Rate is the sandbox's USD/CAD rate.
const Rate = "1.4000"

// Handler serves GET <prefix>/observations/FXUSDCAD/json.
func Handler(prefix string, clock func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"/observations/{series}/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		series := r.PathValue("series")
		if series != "FXUSDCAD" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf("Series %s not found.", series), "docs": "https://www.bankofcanada.ca/valet/docs"})
			return
		}
		day := clock().AddDate(0, 0, -1)
		for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			day = day.AddDate(0, 0, -1)
		}
		json.NewEncoder(w).Encode(map[string]any{
			"terms": map[string]string{"url": "https://www.bankofcanada.ca/terms/"},
			"seriesDetail": map[string]any{series: map[string]any{
				"label": "USD/CAD", "description": "US dollar to Canadian dollar daily exchange rate",
				"dimension": map[string]string{"key": "d", "name": "date"},
			}},
			"observations": []map[string]any{{"d": day.Format(time.DateOnly), series: map[string]string{"v": Rate}}},
		})
	})
	return mux
}
