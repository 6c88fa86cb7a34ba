package machines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// containersConf is podman's configuration in a machine: what podman
// needs on these hosts (runc, not crun; no default ulimits; cgroupfs), and
// the machine's own per-boot folder, locks, events and networks, so that
// its podman shares no state with the host's or another machine's. (By
// default every podman on a host keeps its locks in one shared memory
// segment, which a podman finding no trace of a previous boot resets:
// file locks in the machine's folder keep that to the machine.)
func containersConf(dir string) string {
	return "[containers]\ndefault_ulimits = []\n" +
		"[engine]\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n" +
		"tmp_dir = " + tomlString(filepath.Join(dir, "tmp")) + "\n" +
		"lock_type = \"file\"\n" +
		"events_logger = \"file\"\n" +
		"[network]\nnetwork_config_dir = " + tomlString(filepath.Join(dir, "networks")) + "\n"
}

// storageConf keeps the machine's images and containers in its folder.
func storageConf(dir, driver string) string {
	return "[storage]\ndriver = " + tomlString(driver) + "\n" +
		"graphroot = " + tomlString(filepath.Join(dir, "storage")) + "\n" +
		"runroot = " + tomlString(filepath.Join(dir, "run")) + "\n"
}

// writeRegistriesConf sends the machines' pulls from Docker Hub and
// GitHub's registry to the room's mirror.
func writeRegistriesConf(roomDir, mirror string) error {
	var b strings.Builder
	b.WriteString("# The sandbox's machines pull from its mirror registry, which serves\n# stand-ins under the official names. Written by cosocial.\n")
	b.WriteString("unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \"permissive\"\n")
	for _, prefix := range []string{"docker.io", "ghcr.io"} {
		fmt.Fprintf(&b, "\n[[registry]]\nprefix = %s\nlocation = %s\ninsecure = true\n", tomlString(prefix), tomlString(mirror))
	}
	return writeFileAtomic(filepath.Join(roomDir, "registries.conf"), []byte(b.String()), 0o644)
}

func tomlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// storageDriver is overlay where this host can mount it in the machine's
// folder, vfs (whole copies, slower) where it cannot (inside another
// overlay, say).
func storageDriver(dir string) string {
	p, err := os.MkdirTemp(dir, "overlay-probe-")
	if err != nil {
		return "vfs"
	}
	defer os.RemoveAll(p)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(p, d), 0o755); err != nil {
			return "vfs"
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", filepath.Join(p, "lower"), filepath.Join(p, "upper"), filepath.Join(p, "work"))
	// In a mount namespace of its own, gone with the command.
	if exec.Command("unshare", "--mount", "--propagation", "private", "mount", "-t", "overlay", "overlay", "-o", opts, filepath.Join(p, "merged")).Run() != nil {
		return "vfs"
	}
	return "overlay"
}

// api calls the machine's podman through its Docker API.
func (m *machine) api(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://podman/v1.41"+path, nil)
	if err != nil {
		return err
	}
	c := http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", m.socket)
		},
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	// 304: already stopped or started.
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
		var e struct{ Message string }
		json.Unmarshal(body, &e)
		return fmt.Errorf("podman: %s %s: %s %s", method, path, resp.Status, e.Message)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

type listed struct {
	ID    string `json:"Id"`
	Names []string
	State string
}

func (m *machine) containers(ctx context.Context) ([]listed, error) {
	var cs []listed
	err := m.api(ctx, http.MethodGet, "/containers/json?all=true", &cs)
	return cs, err
}

// each runs f on every container of the machine that pick selects, at
// once, as a host's shutdown stops them.
func (m *machine) each(ctx context.Context, pick func(listed) bool, f func(listed) error) error {
	cs, err := m.containers(ctx)
	if err != nil {
		return err
	}
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		if !pick(c) {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(c) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopContainers stops the running containers, each with its own stop
// signal and timeout, so that they end as they would on a shutdown.
func (m *machine) stopContainers(ctx context.Context) error {
	return m.each(ctx, func(c listed) bool { return c.State == "running" }, func(c listed) error {
		return m.api(ctx, http.MethodPost, "/containers/"+url.PathEscape(c.ID)+"/stop", nil)
	})
}

// removeContainers removes every container, running or not, with its
// anonymous volumes.
func (m *machine) removeContainers(ctx context.Context) error {
	return m.each(ctx, func(listed) bool { return true }, func(c listed) error {
		return m.api(ctx, http.MethodDelete, "/containers/"+url.PathEscape(c.ID)+"?force=true&v=true", nil)
	})
}

// restartContainers starts again, on a resumed machine, the containers
// whose restart policy says so, as Docker does when it starts: Compose's
// `restart: always` services come back with the machine.
func (m *machine) restartContainers(ctx context.Context) {
	err := m.each(ctx, func(c listed) bool { return c.State != "running" }, func(c listed) error {
		var inspect struct {
			HostConfig struct{ RestartPolicy struct{ Name string } }
		}
		if err := m.api(ctx, http.MethodGet, "/containers/"+url.PathEscape(c.ID)+"/json", &inspect); err != nil {
			return err
		}
		switch inspect.HostConfig.RestartPolicy.Name {
		case "always", "unless-stopped":
			return m.api(ctx, http.MethodPost, "/containers/"+url.PathEscape(c.ID)+"/start", nil)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(m.log, "restarting its containers: %v\n", err)
	}
}
