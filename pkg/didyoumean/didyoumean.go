// Package didyoumean suggests the known name closest to a misspelt one, so
// that every "did you mean" hint in the tool reads and behaves alike.
package didyoumean

import (
	"strings"

	"github.com/agext/levenshtein"
)

// Suggest returns the candidate closest to given when it is near enough to
// be a plausible typo (fewer than three edits, ignoring case, the threshold
// HCL uses for attribute names), or "".
func Suggest(given string, candidates []string) string {
	best, bestDist := "", 3
	g := strings.ToLower(given)
	for _, c := range candidates {
		if d := levenshtein.Distance(g, strings.ToLower(c), nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Hint formats Suggest's answer as the end of a diagnostic's detail:
// ` Did you mean "flavor"?`, or "" when nothing is close.
func Hint(given string, candidates []string) string {
	if s := Suggest(given, candidates); s != "" {
		return ` Did you mean "` + s + `"?`
	}
	return ""
}
