package openstack

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gophercloud/gophercloud/v2"
	gopenstack "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
)

type cloudCredentials struct {
	auth     gophercloud.AuthOptions
	endpoint gophercloud.EndpointOpts
	tls      *tls.Config
}

// getenv reads cfg.Env when it is set, the process's environment otherwise:
// the sandbox hands its own OS_* variables to a plugin that must not see
// the user's.
func (cfg Config) getenv(key string) string {
	if cfg.Env != nil {
		return cfg.Env[key]
	}
	return os.Getenv(key)
}

// readCredentials finds the credentials the way the openstack CLI does: the
// named cloud of clouds.yaml (or OS_CLOUD's), else the OS_* variables.
// The region of the description wins over both.
func readCredentials(cfg Config) (cloudCredentials, error) {
	var cr cloudCredentials
	cloud := cfg.Cloud
	if cloud == "" {
		cloud = cfg.getenv("OS_CLOUD")
	}
	if cloud != "" {
		var err error
		if cr, err = cloudsYAML(cfg, cloud); err != nil {
			return cr, err
		}
	} else {
		var err error
		if cfg.Env == nil {
			cr.auth, err = gopenstack.AuthOptionsFromEnv()
		} else {
			cr.auth, err = authOptionsFromEnv(cfg.getenv)
		}
		if err != nil {
			return cr, fmt.Errorf("openstack: no cloud named and no usable OS_* variables: %w (name a cloud of clouds.yaml, or source the project's openrc)", err)
		}
		cr.endpoint = gophercloud.EndpointOpts{Region: cfg.getenv("OS_REGION_NAME"), Availability: availability(cfg.getenv("OS_INTERFACE"))}
	}
	if cfg.Region != "" {
		cr.endpoint.Region = cfg.Region
	}
	// A token outlives neither a long database build nor a long session:
	// let gophercloud log in again on a 401.
	cr.auth.AllowReauth = true
	return cr, nil
}

// cloudsYAML reads one cloud of clouds.yaml (and secure.yaml beside it)
// through gophercloud's parser, from the search path python-openstackclient
// uses: $OS_CLIENT_CONFIG_FILE alone when set, otherwise ./clouds.yaml,
// ~/.config/openstack/clouds.yaml and /etc/openstack/clouds.yaml. The file
// is read here, not by the parser, so that Config.Env decides the path.
func cloudsYAML(cfg Config, cloud string) (cloudCredentials, error) {
	var cr cloudCredentials
	var locations []string
	if p := cfg.getenv("OS_CLIENT_CONFIG_FILE"); p != "" {
		locations = []string{p}
	} else {
		if wd, err := os.Getwd(); err == nil {
			locations = append(locations, filepath.Join(wd, "clouds.yaml"))
		}
		if dir := cfg.getenv("XDG_CONFIG_HOME"); dir != "" {
			locations = append(locations, filepath.Join(dir, "openstack", "clouds.yaml"))
		} else if home := cfg.getenv("HOME"); home != "" {
			locations = append(locations, filepath.Join(home, ".config", "openstack", "clouds.yaml"))
		}
		locations = append(locations, "/etc/openstack/clouds.yaml")
	}
	var found string
	var data []byte
	for _, p := range locations {
		b, err := os.ReadFile(p)
		if err == nil {
			found, data = p, b
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return cr, fmt.Errorf("openstack: reading %s: %w", p, err)
		}
	}
	if found == "" {
		return cr, fmt.Errorf("openstack: cloud %q: no clouds.yaml found (looked in %v; OS_CLIENT_CONFIG_FILE names another)", cloud, locations)
	}
	opts := []clouds.ParseOption{clouds.WithCloudName(cloud), clouds.WithCloudsYAML(bytes.NewReader(data))}
	if secure, err := os.ReadFile(filepath.Join(filepath.Dir(found), "secure.yaml")); err == nil {
		opts = append(opts, clouds.WithSecureYAML(bytes.NewReader(secure)))
	}
	if r := cfg.getenv("OS_REGION_NAME"); r != "" {
		opts = append(opts, clouds.WithRegion(r))
	}
	if cfg.Region != "" {
		opts = append(opts, clouds.WithRegion(cfg.Region))
	}
	if i := cfg.getenv("OS_INTERFACE"); i != "" {
		opts = append(opts, clouds.WithEndpointType(i))
	}
	ao, eo, tlsConfig, err := clouds.Parse(opts...)
	if err != nil {
		return cr, fmt.Errorf("openstack: %s: %w", found, err)
	}
	if ao.IdentityEndpoint == "" {
		return cr, fmt.Errorf("openstack: cloud %q of %s has no auth_url", cloud, found)
	}
	return cloudCredentials{auth: ao, endpoint: eo, tls: tlsConfig}, nil
}

func availability(iface string) gophercloud.Availability {
	switch iface {
	case "internal", "internalURL":
		return gophercloud.AvailabilityInternal
	case "admin", "adminURL":
		return gophercloud.AvailabilityAdmin
	}
	return gophercloud.AvailabilityPublic
}

// authOptionsFromEnv is gophercloud's openstack.AuthOptionsFromEnv reading
// from getenv instead of the process's environment: the same variables,
// the same checks, the same result.
func authOptionsFromEnv(getenv func(string) string) (gophercloud.AuthOptions, error) {
	authURL := getenv("OS_AUTH_URL")
	username := getenv("OS_USERNAME")
	userID := getenv("OS_USERID")
	password := getenv("OS_PASSWORD")
	passcode := getenv("OS_PASSCODE")
	tenantID := getenv("OS_TENANT_ID")
	tenantName := getenv("OS_TENANT_NAME")
	domainID := getenv("OS_DOMAIN_ID")
	domainName := getenv("OS_DOMAIN_NAME")
	appCredID := getenv("OS_APPLICATION_CREDENTIAL_ID")
	appCredName := getenv("OS_APPLICATION_CREDENTIAL_NAME")
	appCredSecret := getenv("OS_APPLICATION_CREDENTIAL_SECRET")
	if v := getenv("OS_PROJECT_ID"); v != "" {
		tenantID = v
	}
	if v := getenv("OS_PROJECT_NAME"); v != "" {
		tenantName = v
	}
	missing := func(v string) error { return gophercloud.ErrMissingEnvironmentVariable{EnvironmentVariable: v} }
	anyOf := func(v ...string) error {
		return gophercloud.ErrMissingAnyoneOfEnvironmentVariables{EnvironmentVariables: v}
	}
	switch {
	case authURL == "":
		return gophercloud.AuthOptions{}, missing("OS_AUTH_URL")
	case userID == "" && username == "" && appCredID == "" && appCredSecret == "":
		return gophercloud.AuthOptions{}, anyOf("OS_USERID", "OS_USERNAME")
	case password == "" && passcode == "" && appCredID == "" && appCredName == "":
		return gophercloud.AuthOptions{}, missing("OS_PASSWORD")
	case (appCredID != "" || appCredName != "") && appCredSecret == "":
		return gophercloud.AuthOptions{}, missing("OS_APPLICATION_CREDENTIAL_SECRET")
	case domainID == "" && domainName == "" && tenantID == "" && tenantName != "":
		return gophercloud.AuthOptions{}, missing("OS_PROJECT_ID")
	case appCredID == "" && appCredName != "" && appCredSecret != "" && userID == "" && username == "":
		return gophercloud.AuthOptions{}, anyOf("OS_USERID", "OS_USERNAME")
	case appCredID == "" && appCredName != "" && appCredSecret != "" && username != "" && domainID == "" && domainName == "":
		return gophercloud.AuthOptions{}, anyOf("OS_DOMAIN_ID", "OS_DOMAIN_NAME")
	}
	var scope *gophercloud.AuthScope
	if getenv("OS_SYSTEM_SCOPE") == "all" {
		scope = &gophercloud.AuthScope{System: true}
	}
	return gophercloud.AuthOptions{
		IdentityEndpoint: authURL, UserID: userID, Username: username, Password: password, Passcode: passcode,
		TenantID: tenantID, TenantName: tenantName, DomainID: domainID, DomainName: domainName,
		ApplicationCredentialID: appCredID, ApplicationCredentialName: appCredName, ApplicationCredentialSecret: appCredSecret,
		Scope: scope,
	}, nil
}
