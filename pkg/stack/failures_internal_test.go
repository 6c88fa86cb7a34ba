package stack

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/cosocial/cosocial/pkg/config"
)

const refusedSrc = `coop "t" {
  name   = "T"
  domain = "t.example.ca"
}
provider "openstack" "montreal" {
  cloud  = "vexxhost"
  region = "ca-ymq-1"
}
server "web" {
  provider = provider.montreal
  flavor   = "v3-standard-2"
  image    = "Debian 12"
  disk_gb  = 40
}
dns "zone" {
  provider = provider.montreal
  zone     = "t.example.ca"
}
`

func diagnostic(urn, msg string) events.EngineEvent {
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{DiagnosticEvent: &apitype.DiagnosticEvent{URN: urn, Message: msg, Severity: "error"}}}
}

// TestFailuresLandOnTheirLines: what the engine reports against resources
// is placed at the description's lines: a login at the provider's cloud
// line (whichever resource asked first), a refused property at its
// attribute (diskGb at disk_gb), a record's failure at its zone's block,
// and the rest is kept in the engine's words.
func TestFailuresLandOnTheirLines(t *testing.T) {
	res := config.LoadBytes("cosocial.hcl", []byte(refusedSrc))
	if res.Diagnostics.HasErrors() {
		t.Fatal(res.Diagnostics)
	}
	p := &Plan{byURN: map[string]*Change{}}
	for _, e := range []events.EngineEvent{
		diagnostic(urnPrefix+"cosocial:openstack:DnsZone::dns.zone", "provider.montreal: logging in to https://auth.vexxhost.net/v3: OpenStack Keystone API: The request you have made requires authentication. (Unauthorized)"),
		diagnostic(urnPrefix+"cosocial:openstack:Server::server.web", "cosocial:openstack:Server resource 'server.web': property diskGb value {4000} has a problem: the flavor allows 20 to 1000 GB"),
		diagnostic(urnPrefix+"cosocial:openstack:DnsRecord::dns.zone/t.example.ca/A", "OpenStack Designate API: Duplicate RecordSet"),
		diagnostic(urnPrefix+"cosocial:openstack:Bucket::bucket.gone", "not in this description"),
		diagnostic("", "update failed"),
	} {
		p.add(e)
	}
	op := &OperationError{Op: "preview", Messages: p.Errors, Failures: p.Failures}
	diags, rest := op.Diagnostics(res.Description)
	want := []struct {
		line   int
		detail string
	}{
		{6, "provider.montreal: logging in to https://auth.vexxhost.net/v3: OpenStack Keystone API: The request you have made requires authentication. (Unauthorized)"},
		{13, "server.web: the flavor allows 20 to 1000 GB"},
		{15, "dns.zone: OpenStack Designate API: Duplicate RecordSet"},
	}
	if len(diags) != len(want) {
		t.Fatalf("%d diagnostics, want %d: %v", len(diags), len(want), diags)
	}
	for i, w := range want {
		if d := diags[i]; d.Subject == nil || d.Subject.Start.Line != w.line || d.Detail != w.detail {
			t.Errorf("diagnostic %d: line %v, %q; want line %d, %q", i, d.Subject, d.Detail, w.line, w.detail)
		}
	}
	if got := strings.Join(rest, " | "); got != "bucket.gone: not in this description | update failed" {
		t.Errorf("left as said: %q", got)
	}
}

// TestEngineFailuresInTheToolsWords: the engine's own failures that a
// volunteer meets (a wrong passphrase, a damaged state, a protected
// resource) reach them as what happened and what to do, never as the raw
// CLI text or its advice to run pulumi commands.
func TestEngineFailuresInTheToolsWords(t *testing.T) {
	for raw, summary := range map[string]string{
		"failed to run preview: exit status 1\ncode: 1\nstdout: \nstderr: error: getting stack configuration: get stack secrets manager: incorrect passphrase\n": "Wrong passphrase",
		"failed to run preview: exit status 1\ncode: 1\nstderr: error: failed to load checkpoint: place 1: unexpected end of JSON input\n":                       "Damaged state",
	} {
		err := engineError("preview", errors.New(raw))
		var ef *EngineFailure
		if !errors.As(err, &ef) || ef.Summary != summary || strings.Contains(ef.Detail, "failed to run") || !strings.Contains(ef.Detail, "Nothing was changed") {
			t.Errorf("%q: got %v, want %q in the tool's words", raw, err, summary)
		}
	}

	res := config.LoadBytes("cosocial.hcl", []byte(refusedSrc))
	p := &Plan{byURN: map[string]*Change{}}
	p.add(diagnostic(urnPrefix+"cosocial:openstack:Server::server.web", "unable to replace resource \""+urnPrefix+"cosocial:openstack:Server::server.web\"\nas it is currently marked for protection. To unprotect the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`"))
	op := &OperationError{Op: "up", Messages: p.Errors, Failures: p.Failures}
	diags, rest := op.Diagnostics(res.Description)
	if len(diags) != 1 || diags[0].Summary != "Protected: server.web holds data" || diags[0].Subject.Start.Line != 9 || strings.Contains(diags[0].Detail, "pulumi") || len(rest) != 0 {
		t.Errorf("protected: %v, rest %v", diags, rest)
	}
}

// TestUnfinishedNamesEachResourceOnce: an interrupt reported against a
// resource twice (its create and its wait) names it once.
func TestUnfinishedNamesEachResourceOnce(t *testing.T) {
	e := &OperationError{Op: "up", Failures: []Failure{{Address: "server.web"}, {Address: "database.main"}, {Address: "server.web"}}}
	if got := e.Unfinished(); !strings.Contains(got, ": server.web, database.main. ") {
		t.Errorf("Unfinished() = %q", got)
	}
	if got := (&OperationError{Op: "up"}).Unfinished(); got != "" {
		t.Errorf("nothing under way, yet %q", got)
	}
}
