package machines

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// mirror is the room's registry: the official images' names, served with
// stand-ins made the first time a tag is asked for (the real registries
// are out of reach, and the real images far bigger than a rehearsal
// needs).
type mirror struct {
	standIn string // the stand-in program; "" when none was found
	addr    string // 127.0.0.1:port
	srv     *http.Server
	log     io.Writer
	reg     http.Handler

	mu     sync.Mutex
	pushed map[string]bool // repository:tag
	layers map[string]v1.Layer
}

// standIns are the images the mirror serves, by repository (as podman
// asks for it, without the registry's name); the tag is the version.
var standIns = map[string]struct{ log, tagSuffix string }{
	"mastodon/mastodon":           {log: "/mastodon/public/system/standin.log"},
	"mastodon/mastodon-streaming": {log: "/mastodon/public/system/standin.log"},
	// The volume the Castopod template mounts for its media.
	"castopod/castopod": {log: "/var/www/castopod/public/media/standin.log"},
	// Its tags name the runtime after the release.
	"jippi/docker-pixelfed": {log: "/var/www/storage/standin.log", tagSuffix: "-apache-8.4-bookworm"},
	"library/redis":         {log: "/data/standin.log"},
	"redis":                 {log: "/data/standin.log"},
}

// caddyRepos are served with Debian's Caddy, which really serves TLS.
var caddyRepos = map[string]bool{"library/caddy": true, "caddy": true}

// findStandIn is the stand-in program's path: the one given, or beside
// this program (make build puts it there), or $COSOCIAL_STANDIN (make
// test sets it for the test binaries, which run from elsewhere).
func findStandIn(given string) string {
	if given != "" {
		return given
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "cosocial-standin")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return os.Getenv("COSOCIAL_STANDIN")
}

func startMirror(standIn string, logTo io.Writer) (*mirror, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &mirror{
		standIn: standIn,
		addr:    l.Addr().String(),
		log:     logTo,
		reg:     registry.New(registry.Logger(log.New(logTo, "", 0))),
		pushed:  map[string]bool{},
		layers:  map[string]v1.Layer{},
	}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: time.Minute}
	go m.srv.Serve(l)
	return m, nil
}

func (m *mirror) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return m.srv.Shutdown(ctx)
}

// ServeHTTP pushes a stand-in into the registry before its manifest is
// asked for by tag; the registry serves the rest.
func (m *mirror) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		if repo, tag, ok := manifestRequest(req.URL.Path); ok {
			if err := m.ensure(req.Context(), repo, tag); err != nil {
				fmt.Fprintf(m.log, "%s:%s: %v\n", repo, tag, err)
				type regError struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				}
				body, _ := json.Marshal(map[string][]regError{"errors": {{"MANIFEST_UNKNOWN", "the sandbox's mirror has no " + repo + ":" + tag + ": " + err.Error()}}})
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				w.Write(body)
				return
			}
		}
	}
	m.reg.ServeHTTP(w, req)
}

// manifestRequest reads /v2/<repository>/manifests/<tag>; a digest is
// not a tag: it names an image already pushed.
func manifestRequest(p string) (repo, tag string, ok bool) {
	rest, found := strings.CutPrefix(p, "/v2/")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/manifests/")
	if i < 0 {
		return "", "", false
	}
	repo, tag = rest[:i], rest[i+len("/manifests/"):]
	if repo == "" || tag == "" || strings.Contains(tag, ":") || strings.Contains(tag, "/") {
		return "", "", false
	}
	return repo, tag, true
}

var errNotMirrored = errors.New("it serves stand-ins for Mastodon, Castopod, Pixelfed, Redis and Caddy only")

func (m *mirror) ensure(ctx context.Context, repo, tag string) error {
	_, standIn := standIns[repo]
	if !standIn && !caddyRepos[repo] {
		return errNotMirrored
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pushed[repo+":"+tag] {
		return nil
	}
	img, err := m.image(repo, tag)
	if err != nil {
		return err
	}
	ref, err := name.NewTag(m.addr+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return err
	}
	// Straight to the registry: through ServeHTTP, the push's own look
	// at the tag would wait for this push.
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithTransport(inProcess{m.reg})); err != nil {
		return err
	}
	m.pushed[repo+":"+tag] = true
	return nil
}

// inProcess serves HTTP requests with a handler in this process.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody // as a server's requests always have
	}
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// image is the stand-in for repo:tag, as pkg/app's tests build them:
// FROM scratch, the stand-in program or Debian's Caddy, nothing else.
func (m *mirror) image(repo, tag string) (v1.Image, error) {
	cfg := v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	var layer v1.Layer
	var err error
	if caddyRepos[repo] {
		layer, err = m.layer("caddy", caddyFiles)
		cfg.Env = append(cfg.Env, "XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data")
		cfg.Entrypoint = []string{"/usr/bin/caddy"}
		cfg.Cmd = []string{"run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"}
	} else {
		layer, err = m.layer("standin", m.standInFiles)
		version := strings.TrimSuffix(strings.TrimPrefix(tag, "v"), standIns[repo].tagSuffix)
		cfg.Env = append(cfg.Env, "STANDIN_VERSION="+version, "STANDIN_LOG="+standIns[repo].log)
		cfg.Entrypoint = []string{"/standin"}
	}
	if err != nil {
		return nil, err
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers"},
		Config:       cfg,
	})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layer)
}

// layer is the named layer, made once for all the images that share it.
func (m *mirror) layer(key string, files func() (map[string]string, error)) (v1.Layer, error) {
	if l, ok := m.layers[key]; ok {
		return l, nil
	}
	fs, err := files()
	if err != nil {
		return nil, err
	}
	b, err := tarOf(fs)
	if err != nil {
		return nil, err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	m.layers[key] = l
	return l, nil
}

func (m *mirror) standInFiles() (map[string]string, error) {
	if m.standIn == "" {
		return nil, errors.New("the stand-in program was not found beside cosocial nor in $COSOCIAL_STANDIN (make bin/cosocial-standin builds it)")
	}
	return map[string]string{"/standin": m.standIn}, nil
}

// caddyFiles are Debian's Caddy and the libraries it is linked with.
func caddyFiles() (map[string]string, error) {
	const bin = "/usr/bin/caddy"
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("Caddy is not installed (make test-deps installs it): %w", err)
	}
	fs := map[string]string{bin: bin}
	// A static build has no libraries: ldd says so and fails.
	out, _ := exec.Command("ldd", bin).Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if strings.HasPrefix(f, "/") {
				fs[f] = f
			}
		}
	}
	return fs, nil
}

// tarOf is a layer holding the files (path in the image: file on this
// host, symbolic links followed), with their folders, all dated alike so
// that the same files make the same layer.
func tarOf(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		var parents []string
		for d := path.Dir(p); d != "/" && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parents[i][1:] + "/", Mode: 0o755, ModTime: epoch}); err != nil {
				return nil, err
			}
		}
		b, err := os.ReadFile(files[p])
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p[1:], Mode: 0o755, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
