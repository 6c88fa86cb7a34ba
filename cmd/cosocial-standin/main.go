// Command cosocial-standin plays, in the sandbox's containers, the
// processes of the apps' images, which the sandbox cannot pull:
// its mirror registry serves images of this program under the official
// names. What it is asked to run (Puma, the streaming server, Sidekiq, a
// Rails task, Castopod's server, Pixelfed's Apache, Horizon and artisan
// tasks, Redis) comes from its arguments, the version from the image's
// STANDIN_VERSION. Servers answer the apps' health checks, and
// /api/v1/instance and NodeInfo with that version; tasks are appended to the log in
// STANDIN_LOG, and fail when a file named fail-<task words>-<version> sits
// beside it.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	// As PID 1 in its container it gets no default signal handling: stop
	// on TERM as Puma, Node and Sidekiq do, or Compose waits out its
	// timeout and kills.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; os.Exit(0) }()
	args := strings.Join(os.Args[1:], " ")
	version := os.Getenv("STANDIN_VERSION")
	switch {
	case strings.HasPrefix(args, "redis-server"):
		redis(args)
	case strings.Contains(args, "puma"):
		serve(env("BIND", "127.0.0.1")+":3000", version)
	case strings.Contains(args, "streaming"):
		serve(env("BIND", "127.0.0.1")+":4000", version)
	case args == "" && apacheListen() != "":
		serve(apacheListen(), version)
	case args == "" || strings.Contains(args, "castopod"):
		serve(env("BIND", "127.0.0.1")+":8000", version)
	case strings.Contains(args, "sidekiq"), strings.Contains(args, "horizon"), strings.Contains(args, "schedule:work"):
		select {}
	default:
		os.Exit(task(args, version))
	}
}

// apacheListen is where Pixelfed's image would have Apache listen: the
// Listen line of the ports.conf its overrides folder puts in place.
func apacheListen() string {
	b, err := os.ReadFile("/docker/overrides/etc/apache2/ports.conf")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Listen" {
			return f[1]
		}
	}
	return ""
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// task records a one-off command (a migration) and its environment's
// say on post-deployment migrations.
func task(args, version string) int {
	log := os.Getenv("STANDIN_LOG")
	if log == "" {
		log = "/mastodon/public/system/standin.log"
	}
	line := fmt.Sprintf("%s %s SKIP_POST_DEPLOYMENT_MIGRATIONS=%s", version, args, os.Getenv("SKIP_POST_DEPLOYMENT_MIGRATIONS"))
	fail := filepath.Join(filepath.Dir(log), "fail-"+strings.ReplaceAll(args, " ", "-")+"-"+version)
	if _, err := os.Stat(fail); err == nil {
		line += " FAILED"
	}
	f, err := os.OpenFile(log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintln(f, line)
	f.Close()
	if strings.HasSuffix(line, "FAILED") {
		fmt.Fprintln(os.Stderr, "stand-in: told to fail:", args)
		return 1
	}
	return 0
}

func serve(addr, version string) {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "stand-in", version)
	})
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "OK") })
	http.HandleFunc("/api/v1/streaming/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "OK") })
	// What the container was given, hashed: a test compares it with
	// what it wrote (a key several lines long arrives whole).
	http.HandleFunc("/standin/env/", func(w http.ResponseWriter, r *http.Request) {
		v, ok := os.LookupEnv(strings.TrimPrefix(r.URL.Path, "/standin/env/"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "%x", sha256.Sum256([]byte(v)))
	})
	http.HandleFunc("/api/service/health-check", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "OK") })
	http.HandleFunc("/api/nodeinfo/2.0.json", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"version": "2.0", "software": map[string]string{"name": "pixelfed", "version": version}})
	})
	http.HandleFunc("/api/v1/instance", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"uri": os.Getenv("LOCAL_DOMAIN"), "version": version, "stand_in": "true"})
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// redis answers PING, which is all a health check asks.
func redis(args string) {
	port, bind := "6379", "127.0.0.1"
	f := strings.Fields(args)
	for i := range f {
		switch {
		case f[i] == "--port" && i+1 < len(f):
			port = f[i+1]
		case f[i] == "--bind" && i+1 < len(f):
			bind = f[i+1]
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(bind, port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.Contains(strings.ToUpper(line), "PING") {
					c.Write([]byte("+PONG\r\n"))
				}
			}
		}()
	}
}
