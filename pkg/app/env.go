package app

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
)

// pemLike is what a PEM block is made of: base64, its armour's words and
// dashes, and line breaks.
var pemLike = regexp.MustCompile(`^[A-Za-z0-9+/= \n-]*$`)

// isPEM says the value is one PEM block and nothing else (a key the app
// made), never a password that happens to hold a line break.
func isPEM(v string) bool {
	block, rest := pem.Decode([]byte(v))
	return block != nil && strings.TrimSpace(string(rest)) == "" && pemLike.MatchString(v)
}

// envFile writes settings one per line, each value in single quotes: the
// Compose env-file syntax takes them literally (no $ expansion, no
// escapes) but for \' standing for a quote; a key in PEM, several lines
// long, goes in double quotes with \n for its line breaks. A value that syntax cannot
// carry (a line break, a backslash before a quote or at the end) is
// refused, naming the key only.
func envFile(header string, settings []Setting) ([]byte, error) {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	seen := map[string]bool{}
	for _, s := range settings {
		if seen[s.Key] {
			return nil, fmt.Errorf("setting %s is written twice", s.Key)
		}
		seen[s.Key] = true
		if isPEM(s.Value) {
			// A key in PEM: Compose reads \n in double quotes as a line
			// break, and the value holds nothing else double quotes
			// would change ($, quotes, backslashes).
			fmt.Fprintf(&b, "%s=\"%s\"\n", s.Key, strings.ReplaceAll(s.Value, "\n", `\n`))
			continue
		}
		if strings.ContainsAny(s.Value, "\n\r\x00") || strings.HasSuffix(s.Value, `\`) || strings.Contains(s.Value, `\'`) {
			return nil, fmt.Errorf("the value of %s cannot be written to an env file (a line break, or a backslash before a quote or at its end)", s.Key)
		}
		fmt.Fprintf(&b, "%s='%s'\n", s.Key, strings.ReplaceAll(s.Value, `'`, `\'`))
	}
	return b.Bytes(), nil
}
