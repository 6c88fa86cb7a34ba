package s3server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/debuglogger"
	"github.com/versity/versitygw/embedgw"
)

// GatewayName is the argv[0] under which cosocial serves as its own S3
// server. A cosocial installed alone (`go install`) has no versitygw beside
// it: Start then runs this same binary under that name, and main hands it
// to ServeGateway before anything else runs. The gateway stays a process of
// its own, as versitygw is, because versitygw's embedding API allows one
// gateway per process and a migration rehearsal runs two.
const GatewayName = "cosocial-s3-gateway"

// ServeGateway is versitygw's gateway, with its POSIX backend, run from
// inside this program. It takes the command line Start gives versitygw
// (args without argv[0]) and the root credentials from the same
// environment variables, and serves until ctx ends.
func ServeGateway(ctx context.Context, args []string) error {
	cfg, dataDir, versionsDir, err := parseGatewayArgs(args)
	if err != nil {
		return err
	}
	cfg.RootUserAccess, cfg.RootUserSecret = os.Getenv("ROOT_ACCESS_KEY"), os.Getenv("ROOT_SECRET_KEY")
	// Extended attributes hold the objects' metadata, as versitygw's own
	// default does; a file system without them is refused here, not at the
	// first upload.
	if err := (meta.XattrMeta{}).Test(dataDir); err != nil {
		return fmt.Errorf("the S3 server's folder %s does not keep extended attributes: %w", dataDir, err)
	}
	opts := posix.PosixOpts{
		VersioningDir:       versionsDir,
		Concurrency:         5000,
		IOBufferSize:        1 << 20,
		CopyObjectThreshold: 5 << 30,
	}
	opts.SetNewDirPerm(0o755)
	opts.SetNewFilePerm(0o644)
	be, err := posix.New(dataDir, meta.XattrMeta{}, opts)
	if err != nil {
		return fmt.Errorf("the S3 server's POSIX backend: %w", err)
	}
	defer be.Shutdown()
	return embedgw.RunVersityGW(ctx, be, cfg)
}

// parseGatewayArgs reads the subset of versitygw's command line that Start
// writes: the gateway's flags, then `posix`, its flags and the data folder.
func parseGatewayArgs(args []string) (cfg *embedgw.Config, dataDir, versionsDir string, err error) {
	cfg = &embedgw.Config{
		// versitygw's own defaults.
		MaxConnections: 250000, MaxRequests: 100000,
		AdminMaxConnections: 250000, AdminMaxRequests: 100000,
		MultipartMaxParts: 10000,
		LogLevel:          debuglogger.LevelSilent,
	}
	gw := flag.NewFlagSet(GatewayName, flag.ContinueOnError)
	gw.SetOutput(io.Discard)
	port := gw.String("port", "", "listen address")
	gw.StringVar(&cfg.Region, "region", Region, "region")
	gw.StringVar(&cfg.IAMDir, "iam-dir", "", "IAM folder")
	gw.BoolVar(&cfg.IAMCacheDisable, "iam-cache-disable", false, "no IAM cache")
	gw.StringVar(&cfg.HealthPath, "health", "", "health path")
	gw.BoolVar(&cfg.Quiet, "quiet", false, "no banner")
	if err := gw.Parse(args); err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", GatewayName, err)
	}
	if *port == "" {
		return nil, "", "", fmt.Errorf("%s: --port is required", GatewayName)
	}
	cfg.Ports = []string{*port}
	rest := gw.Args()
	if len(rest) == 0 || rest[0] != "posix" {
		return nil, "", "", fmt.Errorf("%s: only the posix backend is served, got %q", GatewayName, rest)
	}
	px := flag.NewFlagSet("posix", flag.ContinueOnError)
	px.SetOutput(io.Discard)
	px.StringVar(&versionsDir, "versioning-dir", "", "versions folder")
	if err := px.Parse(rest[1:]); err != nil {
		return nil, "", "", fmt.Errorf("%s posix: %w", GatewayName, err)
	}
	if px.NArg() != 1 {
		return nil, "", "", errors.New(GatewayName + " posix: one data folder is expected")
	}
	return cfg, filepath.Clean(px.Arg(0)), versionsDir, nil
}
