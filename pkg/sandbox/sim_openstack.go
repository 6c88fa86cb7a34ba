package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cosocial/cosocial/pkg/sandbox/ossim"
	"github.com/cosocial/cosocial/pkg/sandbox/rgw"
)

// osKind names the kind played and the API's port.
const osKind = "openstack"

// The OpenStack simulator (VEXXHOST's ca-ymq-1): every API under one
// port, as the catalog says, and its object storage on a second: Ceph's
// gateway in front of the sandbox's S3 server, which asks the
// simulator's Keystone for the EC2 credentials.
func init() {
	register(simulator{
		kind:  osKind,
		ports: []string{osKind, "openstack_s3"},
		start: startOpenStack,
		env: func(sb *Sandbox) map[string]string {
			return map[string]string{
				"OS_AUTH_URL":            sb.OSAuthURL(),
				"OS_USERNAME":            sb.OSCredentials.Username,
				"OS_PASSWORD":            sb.OSCredentials.Password,
				"OS_PROJECT_NAME":        sb.OSCredentials.ProjectName,
				"OS_USER_DOMAIN_NAME":    sb.OSCredentials.DomainName,
				"OS_PROJECT_DOMAIN_NAME": sb.OSCredentials.DomainName,
				"OS_REGION_NAME":         sb.OS.Region(),
				// gophercloud's AuthOptionsFromEnv reads neither domain
				// above, only this one; openstacksdk takes it as the
				// default of both.
				"OS_DOMAIN_NAME":          sb.OSCredentials.DomainName,
				"OS_IDENTITY_API_VERSION": "3",
				"OS_INTERFACE":            "public",
			}
		},
		close: func(sb *Sandbox) error {
			var err error
			if sb.rgw != nil {
				err = sb.rgw.Close()
			}
			if sb.OS != nil {
				if cerr := sb.OS.Close(); err == nil {
					err = cerr
				}
			}
			return err
		},
	})
}

func startOpenStack(ctx context.Context, sb *Sandbox, opts Options, env simEnv) ([]http.Handler, error) {
	sb.OSCredentials = ossim.Credentials{
		Username: "cosocial", Password: random(32), ProjectName: "cosocial", DomainName: "Default",
		ApplicationCredentialID: random(32), ApplicationCredentialSecret: random(48),
	}
	osTiming := opts.OSTiming
	if osTiming == (ossim.Timing{}) {
		t := env.timing
		osTiming = ossim.Timing{
			ServerBuild: t.InstanceBuild, ServerDelete: t.InstanceDelete, ServerResize: t.DatabaseUpdate,
			VolumeCreate: t.UserCreate, VolumeChange: t.UserCreate, VolumeDelete: t.UserCreate, DNSChange: t.UserCreate,
		}
	}
	simOpts := ossim.Options{
		Credentials: sb.OSCredentials, Catalog: opts.Catalog, Timing: osTiming, Faults: opts.OSFaults,
		StateFile: filepath.Join(sb.dir, "openstack.json"), LogFile: filepath.Join(sb.dir, "openstack-requests.log"),
		ErrorLog: sb.logFile, Machines: env.room,
	}
	if sb.s3 != nil {
		gw, err := rgw.New(rgw.Options{
			Backend:  sb.s3,
			Endpoint: fmt.Sprintf("http://127.0.0.1:%d", sb.port("openstack_s3")),
			Keys:     rgw.KeysFunc(func(access string) (string, string, bool) { return sb.OS.EC2Key(access) }),
			Ledger:   filepath.Join(sb.dir, "openstack-s3.log"),
		})
		if err != nil {
			return nil, err
		}
		sb.rgw, simOpts.Objects = gw, gw
	}
	sim, err := ossim.New(simOpts)
	if err != nil {
		return nil, err
	}
	sb.OS = sim
	var objects http.Handler = http.NotFoundHandler()
	if sb.rgw != nil {
		objects = sb.rgw
	}
	return []http.Handler{sim.Handler(), objects}, nil
}

// OSAuthURL is Keystone v3's URL, the auth URL to give gophercloud.
func (sb *Sandbox) OSAuthURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/identity/v3", sb.port(osKind))
}

// OSS3Endpoint is the OpenStack cloud's object storage, Ceph's gateway in
// front of the same S3 server, or "" without backends.
func (sb *Sandbox) OSS3Endpoint() string {
	if sb.rgw == nil {
		return ""
	}
	return sb.rgw.Endpoint()
}

// CloudsYAML is a clouds.yaml naming the OpenStack simulator twice:
// cloudName logs in with the password, cloudName-appcred with the
// application credential. An empty region is the simulator's own; the
// file holds secrets, so keep it private (0600).
func (sb *Sandbox) CloudsYAML(cloudName, region string) []byte {
	if region == "" {
		region = sb.OS.Region()
	}
	c, q := sb.OSCredentials, strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "clouds:\n  %s:\n    auth:\n", q(cloudName))
	fmt.Fprintf(&b, "      auth_url: %s\n      username: %s\n      password: %s\n", q(sb.OSAuthURL()), q(c.Username), q(c.Password))
	fmt.Fprintf(&b, "      project_name: %s\n      user_domain_name: %s\n      project_domain_name: %s\n", q(c.ProjectName), q(c.DomainName), q(c.DomainName))
	fmt.Fprintf(&b, "    region_name: %s\n    interface: \"public\"\n    identity_api_version: 3\n", q(region))
	fmt.Fprintf(&b, "  %s:\n    auth_type: \"v3applicationcredential\"\n    auth:\n", q(cloudName+"-appcred"))
	fmt.Fprintf(&b, "      auth_url: %s\n      application_credential_id: %s\n      application_credential_secret: %s\n", q(sb.OSAuthURL()), q(c.ApplicationCredentialID), q(c.ApplicationCredentialSecret))
	fmt.Fprintf(&b, "    region_name: %s\n    interface: \"public\"\n    identity_api_version: 3\n", q(region))
	return []byte(b.String())
}
