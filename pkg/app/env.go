package app

import (
	"bytes"
	"fmt"
	"strings"
)

// envFile writes settings one per line, each value in single quotes: the
// Compose env-file syntax takes them literally (no $ expansion, no
// escapes) but for \' standing for a quote. A value that syntax cannot
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
		if strings.ContainsAny(s.Value, "\n\r\x00") || strings.HasSuffix(s.Value, `\`) || strings.Contains(s.Value, `\'`) {
			return nil, fmt.Errorf("the value of %s cannot be written to an env file (a line break, or a backslash before a quote or at its end)", s.Key)
		}
		fmt.Fprintf(&b, "%s='%s'\n", s.Key, strings.ReplaceAll(s.Value, `'`, `\'`))
	}
	return b.Bytes(), nil
}
