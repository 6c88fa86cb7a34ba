// Package app turns a service block into what its server runs: the
// Compose file of the project's official images with Redis and Caddy,
// the env file made from the stack's outputs, Caddy's config (TLS for
// the service's domain, and its media host proxied to the bucket), and
// the secrets the app needs, made once and then kept. Each project
// registers itself (mastodon.go, castopod.go), as rclone's backends do;
// the rest of the tool iterates the registry.
package app

import (
	"fmt"
	"sort"

	"github.com/cosocial/cosocial/pkg/model"
)

// App is one project the tool deploys.
type App struct {
	// Name is the service block's first label: service "mastodon" "…".
	Name string
	// Example is a release number as the project tags it, for messages.
	Example string
	// Releases are the project's release notes that matter before an
	// upgrade, oldest first (releases.go).
	Releases []Release
	// EnvFile is the env file's name beside the compose file, as the
	// project's own docs name it.
	EnvFile string
	// AppPort is where the app answers HTTP on the loopback; Routes send
	// some paths elsewhere (Mastodon's streaming API).
	AppPort int
	Routes  []Route
	// RedisPort is where the service's own Redis listens.
	RedisPort int
	// Secrets make the values the app generates once, by setting name:
	// losing one locks members out or breaks what was encrypted with it.
	Secrets []Secret
	// Env writes the app's settings, in the order the env file lists
	// them, from the service and its secrets.
	Env func(s Spec, secrets map[string]string) []Setting
	// Check, when set, refuses what the project cannot take.
	Check func(s Spec) error
	// HealthPath answers below 400 once the app serves; VersionPath, when
	// set, returns JSON whose "version" is the release running.
	HealthPath, VersionPath string
	// Files, when set, are more files the project reads from the
	// service's folder, by path inside it (Pixelfed's Apache ports).
	Files func(s Spec) (map[string][]byte, error)
	// Install runs on the first deployment, before the app starts;
	// PreUpgrade before a new version starts, PostUpgrade once it
	// answers: the project's documented order for its database.
	Install, PreUpgrade, PostUpgrade []Task
}

// Task is a one-off command run in the image of one of the project's
// Compose services, with extra environment.
type Task struct {
	Service string
	Command string
	Env     []string // KEY=value
}

// Route sends the requests under Path (a Caddy path matcher) to Port.
type Route struct {
	Path string
	Port int
}

// Secret makes one or more settings at once (a VAPID key pair is two).
type Secret struct {
	Names []string
	Make  func() ([]string, error)
}

// Setting is one line of an env file.
type Setting struct{ Key, Value string }

var registry = map[string]*App{}

// Register adds a project; each one's file calls it from init.
func Register(a *App) {
	if _, dup := registry[a.Name]; dup {
		panic("app: " + a.Name + " registered twice")
	}
	registry[a.Name] = a
}

// Lookup finds a project by its service block label.
func Lookup(name string) (*App, error) {
	a, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("no app named %q: cosocial deploys %v", name, Names())
	}
	return a, nil
}

// Names lists the projects, sorted.
func Names() []string {
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SecretNames are the settings the app makes once, in the order its
// registration lists them.
func (a *App) SecretNames() []string {
	var names []string
	for _, s := range a.Secrets {
		names = append(names, s.Names...)
	}
	return names
}

// engines are the database engines the project runs on, as the
// language says (model.AppEngines).
func (a *App) engines() []string { return model.AppEngines[a.Name] }
