package pgcopy

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// endpoint is one side of a migration as the package uses it: the
// connection string for pgx, the same string without its password for the
// command lines of pg_dump and pg_restore (where any local user could read
// it in ps), and the password apart, handed to those tools through their
// environment only.
type endpoint struct {
	dsn      string
	public   string // dsn without the password
	password string
	cfg      *pgx.ConnConfig
}

func parseEndpoint(side, dsn string) (*endpoint, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx quotes the offending string, password included, in some of
		// its parse errors.
		return nil, &ConnError{Side: side, DSN: Redact(dsn), Err: redactErr(err, passwordOf(dsn))}
	}
	return &endpoint{dsn: dsn, public: stripPassword(dsn), password: cfg.Password, cfg: cfg}, nil
}

// passwordOf is the password written in a connection string, for
// redacting when the string cannot even be parsed.
func passwordOf(dsn string) string {
	if cfg, err := pgx.ParseConfig(dsn); err == nil {
		return cfg.Password
	}
	if isURL(dsn) {
		if user, ok := urlUserinfo(dsn); ok {
			if i := strings.IndexByte(user, ':'); i >= 0 {
				return user[i+1:]
			}
		}
		return ""
	}
	for _, kv := range splitKeywords(dsn) {
		if kv.key == "password" {
			return kv.value
		}
	}
	return ""
}

// Redact returns a connection string fit for errors and logs: the
// password, wherever it was written, is replaced by "xxxxx".
func Redact(dsn string) string { return replacePassword(dsn, "xxxxx") }

func stripPassword(dsn string) string { return replacePassword(dsn, "") }

// replacePassword rewrites the password of a URL or keyword/value
// connection string; with an empty replacement it removes it.
func replacePassword(dsn, with string) string {
	if isURL(dsn) {
		return replaceURLPassword(dsn, with)
	}
	var b strings.Builder
	for _, kv := range splitKeywords(dsn) {
		if kv.key == "password" {
			if with == "" {
				continue
			}
			kv.value = with
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv.key)
		b.WriteByte('=')
		b.WriteString(quoteValue(kv.value))
	}
	return b.String()
}

func isURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// urlUserinfo finds user[:password] in a URL by hand: net/url refuses the
// multi-host form libpq accepts (host1:5432,host2:5432).
func urlUserinfo(dsn string) (string, bool) {
	rest := dsn[strings.Index(dsn, "://")+3:]
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return "", false
	}
	return authority[:at], true
}

func replaceURLPassword(dsn, with string) string {
	start := strings.Index(dsn, "://") + 3
	out := dsn
	if user, ok := urlUserinfo(dsn); ok {
		if i := strings.IndexByte(user, ':'); i >= 0 {
			repl := user[:i]
			if with != "" {
				repl += ":" + with
			}
			out = dsn[:start] + repl + dsn[start+len(user):]
		}
	}
	q := strings.IndexByte(out, '?')
	if q < 0 {
		return out
	}
	var params []string
	for _, p := range strings.Split(out[q+1:], "&") {
		if strings.HasPrefix(p, "password=") {
			if with == "" {
				continue
			}
			p = "password=" + with
		}
		params = append(params, p)
	}
	if len(params) == 0 {
		return out[:q]
	}
	return out[:q+1] + strings.Join(params, "&")
}

type keyword struct{ key, value string }

// splitKeywords reads libpq's keyword/value form: key = value pairs,
// values optionally single-quoted with backslash escapes.
func splitKeywords(s string) []keyword {
	var out []keyword
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return out
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		key := s[start:i]
		skipSpace()
		if i < len(s) && s[i] == '=' {
			i++
		}
		skipSpace()
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
			i++ // closing quote
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				val.WriteByte(s[i])
				i++
			}
		}
		out = append(out, keyword{key, val.String()})
	}
}

func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// conninfoLiteral is the source's connection string as the target's
// subscription needs it, quoted for SQL.
func conninfoLiteral(dsn string) string {
	return "'" + strings.ReplaceAll(dsn, "'", "''") + "'"
}

// redactor removes known secrets from text.
type redactor []string

func (r redactor) text(s string) string {
	for _, secret := range r {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	return s
}

// redactedError replaces an error whose message held a secret. It does
// not unwrap: the original's message would bring the secret back.
type redactedError struct{ msg string }

func (e *redactedError) Error() string { return e.msg }

func redactErr(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := redactor(secrets).text(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg}
}
