package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/cosocial/cosocial/pkg/s3server"
	"github.com/cosocial/cosocial/pkg/sandbox/ovhsim"
)

// ovhKind names the kind played and the API's port.
const ovhKind = "ovh"

// OVHcloud's simulator: its API on one port, its buckets on the
// sandbox's S3 server, its databases on the sandbox's clusters.
func init() {
	register(simulator{
		kind:  ovhKind,
		ports: []string{ovhKind},
		start: startOVH,
		env: func(sb *Sandbox) map[string]string {
			return map[string]string{
				"OVH_APPLICATION_KEY":    sb.Credentials.ApplicationKey,
				"OVH_APPLICATION_SECRET": sb.Credentials.ApplicationSecret,
				"OVH_CONSUMER_KEY":       sb.Credentials.ConsumerKey,
				"COSOCIAL_OVH_ENDPOINT":  sb.OVHEndpoint(),
			}
		},
		close: func(sb *Sandbox) error {
			if sb.OVH == nil {
				return nil
			}
			return sb.OVH.Close()
		},
	})
}

func startOVH(ctx context.Context, sb *Sandbox, opts Options, env simEnv) ([]http.Handler, error) {
	sb.Credentials = ovhsim.Credentials{ApplicationKey: "sandbox-" + random(8), ApplicationSecret: random(32), ConsumerKey: random(32)}
	var backends ovhsim.Backends
	if sb.s3 != nil {
		backends = ovhsim.Backends{Databases: ovhDatabases{sb.pg}, Objects: objectBackend{sb.s3}}
	}
	sim, err := ovhsim.New(ovhsim.Options{
		Credentials: sb.Credentials, Projects: opts.Projects, Zones: opts.Zones, Catalog: opts.Catalog,
		Timing: env.timing, Faults: opts.Faults, Backends: backends,
		StateFile: filepath.Join(sb.dir, "ovh.json"), LogFile: filepath.Join(sb.dir, "ovh-requests.log"),
		ErrorLog: sb.logFile, Machines: env.room,
	})
	if err != nil {
		return nil, err
	}
	sb.OVH = sim
	if sb.s3 != nil {
		if err := sim.ResumeBackends(ctx); err != nil {
			return nil, err
		}
	}
	return []http.Handler{sim.Handler()}, nil
}

// OVHEndpoint is the URL to give go-ovh (and a description's endpoint).
func (sb *Sandbox) OVHEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d/1.0", sb.port(ovhKind))
}

// S3Endpoint is the sandbox's S3 server, OVHcloud's object storage, or
// "" without backends.
func (sb *Sandbox) S3Endpoint() string {
	if sb.s3 == nil {
		return ""
	}
	return sb.s3.Endpoint()
}

// objectBackend adapts the S3 server to the simulator's interface.
type objectBackend struct{ *s3server.Server }

func (o objectBackend) DeleteBucket(ctx context.Context, name string) error {
	err := o.Server.DeleteBucket(ctx, name)
	if errors.Is(err, s3server.ErrBucketNotEmpty) {
		return ovhsim.ErrBucketNotEmpty
	}
	return err
}
