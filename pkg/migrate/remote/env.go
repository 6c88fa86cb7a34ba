package remote

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// protectedKeys are Mastodon settings a move between providers must never
// change, each with what changing it would break.
var protectedKeys = map[string]string{
	"S3_ALIAS_HOST":                        "it keeps media URLs stable while the bucket moves; other servers hold links to it",
	"LOCAL_DOMAIN":                         "it is the instance's identity in every account's address; changing it orphans every follower",
	"WEB_DOMAIN":                           "it is where other servers find the instance's accounts",
	"SECRET_KEY_BASE":                      "it signs sessions and cookies; changing it logs everyone out",
	"OTP_SECRET":                           "it protects two-factor secrets; changing it locks out accounts that use 2FA",
	"VAPID_PRIVATE_KEY":                    "web push subscriptions are bound to it",
	"VAPID_PUBLIC_KEY":                     "web push subscriptions are bound to it",
	"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY": "it decrypts data already encrypted in the database",
	"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY":   "it decrypts data already encrypted in the database",
	"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": "it decrypts data already encrypted in the database",
}

// Protected says whether key is a setting a move must keep as it is.
func Protected(key string) bool {
	_, ok := protectedKeys[key]
	return ok
}

// ProtectedKeyError is a change to a setting a migration must keep.
type ProtectedKeyError struct {
	Key    string
	Reason string
}

func (e *ProtectedKeyError) Error() string {
	return fmt.Sprintf("refusing to change %s: %s; leave it out of the changes", e.Key, e.Reason)
}

// EnvError is a dotenv file or change RewriteEnv cannot handle. It names
// keys and lines, never values: the file holds the app's secrets.
type EnvError struct {
	Line   int // 0 when the problem is a change, not the file
	Key    string
	Reason string
}

func (e *EnvError) Error() string {
	switch {
	case e.Line > 0 && e.Key != "":
		return fmt.Sprintf("env file line %d (%s): %s", e.Line, e.Key, e.Reason)
	case e.Line > 0:
		return fmt.Sprintf("env file line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("env change to %s: %s", e.Key, e.Reason)
}

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

// envEntry is a span of the file: a KEY=VALUE assignment (which may run
// over several lines inside quotes) or any other line, kept as raw bytes.
type envEntry struct {
	raw              []byte
	line             int    // where it starts, from 1
	key              string // "" for comments, blank lines and lines not understood
	valStart, valEnd int    // the value's bytes within raw, quotes included
	value            string // the value as the app reads it
}

// parseEnv splits a dotenv file into entries whose raw bytes, joined,
// are the file.
func parseEnv(data []byte) ([]envEntry, error) {
	var out []envEntry
	line := 1
	for len(data) > 0 {
		e, n, err := parseEntry(data, line)
		if err != nil {
			return nil, err
		}
		e.raw = data[:n]
		e.line = line
		out = append(out, e)
		line += bytes.Count(e.raw, []byte("\n"))
		data = data[n:]
	}
	return out, nil
}

// parseEntry reads one entry at the start of data and says how many bytes
// it spans, its line ending included.
func parseEntry(data []byte, line int) (envEntry, int, error) {
	lineEnd := bytes.IndexByte(data, '\n')
	if lineEnd < 0 {
		lineEnd = len(data)
	} else {
		lineEnd++
	}
	other := envEntry{}

	i := skipBlanks(data, 0, lineEnd)
	if rest := data[i:lineEnd]; bytes.HasPrefix(rest, []byte("export ")) || bytes.HasPrefix(rest, []byte("export\t")) {
		i = skipBlanks(data, i+len("export"), lineEnd)
	}
	k := i
	for k < lineEnd && (isAlnum(data[k]) || data[k] == '_' || data[k] == '.') {
		k++
	}
	key := string(data[i:k])
	eq := skipBlanks(data, k, lineEnd)
	if !envKey.MatchString(key) || eq >= lineEnd || data[eq] != '=' {
		return other, lineEnd, nil // a comment, a blank line, or something not ours to judge
	}
	e := envEntry{key: key}
	e.valStart = skipBlanks(data, eq+1, lineEnd)
	v := e.valStart
	if v < len(data) && (data[v] == '\'' || data[v] == '"') {
		q := data[v]
		j := v + 1
		for ; j < len(data); j++ {
			if q == '"' && data[j] == '\\' {
				j++
				continue
			}
			if data[j] == q {
				break
			}
		}
		if j >= len(data) {
			return e, 0, &EnvError{Line: line, Key: key, Reason: "the value opens a quote that never closes"}
		}
		e.valEnd = j + 1
		e.value = unquote(q, data[v+1:j])
		end := bytes.IndexByte(data[e.valEnd:], '\n')
		if end < 0 {
			return e, len(data), nil
		}
		return e, e.valEnd + end + 1, nil
	}
	// Unquoted: the value stops at the line's end or at " #", a comment.
	j := e.valStart
	for j < lineEnd && data[j] != '\n' && data[j] != '\r' {
		if data[j] == '#' && j > e.valStart && (data[j-1] == ' ' || data[j-1] == '\t') {
			break
		}
		j++
	}
	for j > e.valStart && (data[j-1] == ' ' || data[j-1] == '\t') {
		j--
	}
	e.valEnd = j
	e.value = string(data[e.valStart:j])
	return e, lineEnd, nil
}

func skipBlanks(data []byte, i, end int) int {
	for i < end && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return i
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func unquote(q byte, s []byte) string {
	if q == '\'' {
		return string(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case '"', '\\', '$':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// formatValue writes v so that Mastodon's dotenv, docker compose's
// env_file and a POSIX shell all read it back unchanged: bare when it
// holds only harmless characters, else in single quotes, which none of
// them interpolate. A value none of them can carry literally is refused.
func formatValue(key, v string) (string, error) {
	if strings.ContainsAny(v, "\n\r\x00") {
		return "", &EnvError{Key: key, Reason: "the new value holds a line break or NUL, which an env file cannot carry"}
	}
	bare := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isAlnum(c) && !strings.ContainsRune("_./:@+,%=-", rune(c)) {
			bare = false
			break
		}
	}
	if bare {
		return v, nil
	}
	if strings.Contains(v, "'") {
		return "", &EnvError{Key: key, Reason: "the new value holds a single quote together with characters that need quoting; dotenv, docker compose and sh cannot all read that literally"}
	}
	return "'" + v + "'", nil
}

// ParseEnv returns the settings of a dotenv file as the app reads them,
// the last assignment of a key winning.
func ParseEnv(data []byte) (map[string]string, error) {
	entries, err := parseEnv(data)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.key != "" {
			out[e.key] = e.value
		}
	}
	return out, nil
}

// RewriteEnv sets the given keys of a dotenv file (Mastodon's
// .env.production) and changes nothing else: comments, order, spacing and
// every other line stay byte for byte, and a key set to the value it
// already has keeps its line as it was. Keys the file lacks are appended
// in sorted order. Every assignment of a key given twice in the file is
// changed. Settings a migration must keep (S3_ALIAS_HOST above all, so
// media URLs stay stable) are refused with a *ProtectedKeyError. Errors
// never hold a value.
func RewriteEnv(old []byte, changes map[string]string) ([]byte, error) {
	return rewriteEnv(old, changes, false)
}

// KeepEnv writes the source's values of settings a move must keep
// (SECRET_KEY_BASE, OTP_SECRET…) into another env file, as RewriteEnv
// does: the env file cosocial deployed at the target, whose own values of
// them no member's session or key was made with.
func KeepEnv(old []byte, kept map[string]string) ([]byte, error) {
	return rewriteEnv(old, kept, true)
}

func rewriteEnv(old []byte, changes map[string]string, keeping bool) ([]byte, error) {
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	formatted := map[string]string{}
	for _, k := range keys {
		if reason, ok := protectedKeys[k]; ok && !keeping {
			return nil, &ProtectedKeyError{Key: k, Reason: reason}
		}
		if !envKey.MatchString(k) {
			return nil, &EnvError{Key: fmt.Sprintf("%q", k), Reason: "not a valid env key"}
		}
		f, err := formatValue(k, changes[k])
		if err != nil {
			return nil, err
		}
		formatted[k] = f
	}

	entries, err := parseEnv(old)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(old) + 64*len(changes))
	seen := map[string]bool{}
	newline := "\n"
	for i, e := range entries {
		if i == 0 && bytes.HasSuffix(e.raw, []byte("\r\n")) {
			newline = "\r\n"
		}
		v, change := changes[e.key]
		if e.key == "" || !change {
			out.Write(e.raw)
			continue
		}
		seen[e.key] = true
		if v == e.value {
			out.Write(e.raw)
			continue
		}
		out.Write(e.raw[:e.valStart])
		out.WriteString(formatted[e.key])
		out.Write(e.raw[e.valEnd:])
	}
	var missing []string
	for _, k := range keys {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteString(newline)
		}
		out.WriteString("# Added by cosocial migrate" + newline)
		for _, k := range missing {
			out.WriteString(k + "=" + formatted[k] + newline)
		}
	}
	return out.Bytes(), nil
}
