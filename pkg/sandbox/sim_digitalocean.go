package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/cosocial/cosocial/pkg/pricing"
	"github.com/cosocial/cosocial/pkg/sandbox/dosim"
	"github.com/cosocial/cosocial/pkg/sandbox/valetsim"
)

// doKind names the kind played and the API's port.
const doKind = "digitalocean"

// DigitalOcean's simulator, for rehearsing the move off it: its API on a
// port of its own (godo's database paths are absolute, /v2/databases, so
// it cannot share a server under a prefix), its Spaces on a second S3
// server, and the Bank of Canada's Valet beside it.
func init() {
	register(simulator{
		kind:  doKind,
		ports: []string{doKind},
		start: startDigitalOcean,
		env: func(sb *Sandbox) map[string]string {
			return map[string]string{
				"DIGITALOCEAN_TOKEN":             sb.DOToken,
				"COSOCIAL_DIGITALOCEAN_ENDPOINT": sb.DOEndpoint(),
				pricing.ValetEnv:                 sb.ValetEndpoint(),
			}
		},
		close: func(sb *Sandbox) error {
			if sb.DO == nil {
				return nil
			}
			return sb.DO.Close()
		},
	})
}

func startDigitalOcean(ctx context.Context, sb *Sandbox, opts Options, env simEnv) ([]http.Handler, error) {
	sb.DOToken = "dop_v1_" + random(64)
	doTiming := opts.DOTiming
	if doTiming == (dosim.Timing{}) {
		doTiming = dosim.Timing{DropletBuild: env.timing.InstanceBuild, DatabaseCreate: env.timing.DatabaseCreate, DatabaseResize: env.timing.DatabaseUpdate}
	}
	var backends dosim.Backends
	if sb.spaces != nil {
		backends = dosim.Backends{Databases: sb.pg, Objects: sb.spaces}
	}
	sim, err := dosim.New(dosim.Options{
		Token: sb.DOToken, Catalog: opts.Catalog, Timing: doTiming, Faults: opts.DOFaults, Backends: backends,
		StateFile: filepath.Join(sb.dir, "digitalocean.json"), LogFile: filepath.Join(sb.dir, "digitalocean-requests.log"),
		ErrorLog: sb.logFile, Machines: env.room,
	})
	if err != nil {
		return nil, err
	}
	sb.DO = sim
	if sb.spaces != nil {
		if err := sim.ResumeBackends(ctx); err != nil {
			return nil, err
		}
	}
	// The Bank of Canada's Valet shares the DigitalOcean simulator's
	// port: a cost in US dollars is converted at its rate.
	mux := http.NewServeMux()
	mux.Handle(valetPrefix+"/", valetsim.Handler(valetPrefix, time.Now))
	mux.Handle("/", sim.Handler())
	return []http.Handler{mux}, nil
}

// valetPrefix is where the Bank of Canada's Valet is served.
const valetPrefix = "/valet"

// ValetEndpoint is the Bank of Canada's Valet API, played by the sandbox.
func (sb *Sandbox) ValetEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", sb.port(doKind), valetPrefix)
}

// DOEndpoint is the DigitalOcean API's base URL to give godo.
func (sb *Sandbox) DOEndpoint() string {
	return fmt.Sprintf("http://127.0.0.1:%d/", sb.port(doKind))
}

// SpacesEndpoint is the S3 server playing DigitalOcean Spaces, or ""
// without backends.
func (sb *Sandbox) SpacesEndpoint() string {
	if sb.spaces == nil {
		return ""
	}
	return sb.spaces.Endpoint()
}

// CreateSpacesBucket makes a bucket on the S3 server behind the
// DigitalOcean simulator's Spaces: DigitalOcean's API does not create
// buckets (S3 does), so a rehearsal makes them here and then grants them
// to a Spaces key through the API.
func (sb *Sandbox) CreateSpacesBucket(ctx context.Context, name string) error {
	if sb.spaces == nil {
		return errors.New("the sandbox runs without its S3 servers: Spaces buckets cannot be made")
	}
	return sb.spaces.CreateBucket(ctx, name)
}
