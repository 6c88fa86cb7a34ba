package app

import (
	"bytes"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/cosocial/cosocial/templates"
)

// Files are what a deployment writes into the service's folder on its
// server. Env holds secrets: written with mode 0600, never printed.
type Files struct {
	Compose   []byte
	EnvName   string
	Env       []byte
	Caddyfile []byte
	// Extra are the project's own files, by path in the folder.
	Extra map[string][]byte
}

// written is every file in the order Deploy writes them, with its mode.
func (f Files) written() []file {
	out := []file{{f.EnvName, f.Env, 0o600}, {"compose.yaml", f.Compose, 0o644}, {"Caddyfile", f.Caddyfile, 0o644}}
	for _, name := range slices.Sorted(maps.Keys(f.Extra)) {
		out = append(out, file{name, f.Extra[name], 0o644})
	}
	return out
}

type file struct {
	name string
	data []byte
	mode os.FileMode
}

var (
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)
	hostRE    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$`)
	bucketRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// Render writes the deployment's files. The service's names and version
// go into YAML and Caddy's config, so each is checked against what such a
// name may hold before it is written anywhere.
func Render(s Spec, secrets map[string]string) (Files, error) {
	a, err := Lookup(s.App)
	if err != nil {
		return Files{}, err
	}
	if err := s.check(a); err != nil {
		return Files{}, err
	}
	for _, sec := range a.Secrets {
		for _, n := range sec.Names {
			if secrets[n] == "" {
				return Files{}, fmt.Errorf("%s %s: secret %s is missing (MakeSecrets makes it)", s.App, s.Name, n)
			}
		}
	}
	data := map[string]any{
		"Version":   s.Version,
		"Domain":    s.Domain,
		"RedisPort": a.RedisPort,
		"Listen":    s.listen(),
		"Shared":    s.Address != "",
	}
	var f Files
	if f.Compose, err = execute("apps/"+a.Name+"/compose.yaml.tmpl", data); err != nil {
		return Files{}, err
	}
	proxy := map[string]any{
		"Domain":      s.Domain,
		"InternalTLS": s.InternalTLS,
		"ACMEEmail":   s.ACMEEmail,
		"AppPort":     a.AppPort,
		"Routes":      a.Routes,
		"MediaHost":   "",
		"Listen":      s.listen(),
		"Shared":      s.Address != "",
	}
	if s.MediaHost != "" && s.Media != nil {
		proxy["MediaHost"], proxy["MediaBucket"], proxy["MediaEndpoint"] = s.MediaHost, s.Media.Name, s.Media.Endpoint
	}
	if f.Caddyfile, err = execute("apps/Caddyfile.tmpl", proxy); err != nil {
		return Files{}, err
	}
	if a.Files != nil {
		if f.Extra, err = a.Files(s); err != nil {
			return Files{}, err
		}
	}
	f.EnvName = a.EnvFile
	header := fmt.Sprintf("%s %s for %s, written by cosocial from the stack's outputs.\nIt holds the app's passwords and keys: mode 0600, never copy it elsewhere.", a.Name, s.Version, s.Domain)
	if f.Env, err = envFile(header, a.Env(s, secrets)); err != nil {
		return Files{}, fmt.Errorf("%s %s: %w", s.App, s.Name, err)
	}
	return f, nil
}

// listen is where the server's private services listen.
func (s Spec) listen() string {
	if s.Address != "" {
		return s.Address
	}
	return "127.0.0.1"
}

// Project is the Compose project the service runs as on its server.
func (s Spec) Project() string { return "cosocial-" + s.App + "-" + s.Name }

func (s Spec) check(a *App) error {
	bad := func(what, value, want string) error {
		return fmt.Errorf("%s %s: %s %q is not %s", s.App, s.Name, what, value, want)
	}
	switch {
	case !nameRE.MatchString(s.Name):
		return bad("name", s.Name, "lower-case letters, digits, - and _")
	case !versionRE.MatchString(s.Version):
		return bad("version", s.Version, "a release number such as 4.3.2")
	case !hostRE.MatchString(s.Domain):
		return bad("domain", s.Domain, "a host name")
	case s.MediaHost != "" && !hostRE.MatchString(s.MediaHost):
		return bad("media_host", s.MediaHost, "a host name")
	case !slices.Contains(a.engines(), s.Database.Engine):
		return fmt.Errorf("%s %s: %s runs on %s, not %s", s.App, s.Name, a.Name, strings.Join(a.engines(), " or "), s.Database.Engine)
	case s.Database.Host == "" || s.Database.Port == 0 || s.Database.Name == "" || s.Database.User == "":
		return fmt.Errorf("%s %s: the database's host, port, name and user are all needed", s.App, s.Name)
	}
	if a.Check != nil {
		if err := a.Check(s); err != nil {
			return fmt.Errorf("%s %s: %w", s.App, s.Name, err)
		}
	}
	if m := s.Media; m != nil {
		u, err := url.Parse(m.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || strings.ContainsAny(m.Endpoint, " {}\"") {
			return bad("media endpoint", m.Endpoint, "an http(s) address without a path")
		}
		if !bucketRE.MatchString(m.Name) {
			return bad("bucket", m.Name, "an S3 bucket name")
		}
		if m.AccessKey == "" || m.SecretKey == "" {
			return fmt.Errorf("%s %s: the media bucket's keys are needed", s.App, s.Name)
		}
	}
	return nil
}

func execute(name string, data any) ([]byte, error) {
	t, err := template.New(name[strings.LastIndex(name, "/")+1:]).Option("missingkey=error").ParseFS(templates.FS, name)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
