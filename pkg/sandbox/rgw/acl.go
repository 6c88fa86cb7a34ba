package rgw

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// acl is a canned ACL, the only kind the gateway keeps: a grant to a
// single other user is refused as not simulated (docs/sandbox.md).
type acl string

const (
	private           acl = "private"
	publicRead        acl = "public-read"
	publicReadWrite   acl = "public-read-write"
	authenticatedRead acl = "authenticated-read"
)

// The groups S3 and Ceph name in grants.
const (
	allUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	authenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
)

// reads is whether the ACL lets a caller who is not the owner read.
func (a acl) reads(authenticated bool) bool {
	return a == publicRead || a == publicReadWrite || a == authenticatedRead && authenticated
}

func (a acl) writes() bool { return a == publicReadWrite }

// requestACL is the ACL a request sets with x-amz-acl or x-amz-grant-*
// headers; none given is private, as on S3 and Ceph.
func requestACL(h http.Header) (acl, *s3Error) {
	if v := h.Get("X-Amz-Acl"); v != "" {
		switch a := acl(v); a {
		case private, publicRead, publicReadWrite, authenticatedRead:
			return a, nil
		case "bucket-owner-read", "bucket-owner-full-control":
			// The writer is the owner here: the same as private.
			return private, nil
		}
		return "", &s3Error{http.StatusBadRequest, "InvalidArgument", "The canned ACL " + v + " is not valid"}
	}
	read, write := h.Get("X-Amz-Grant-Read"), h.Get("X-Amz-Grant-Write")
	for _, other := range []string{"X-Amz-Grant-Full-Control", "X-Amz-Grant-Read-Acp", "X-Amz-Grant-Write-Acp"} {
		if h.Get(other) != "" {
			return "", notSimulated("grants other than read and write to a group")
		}
	}
	return fromGrants(grantsTo(read, allUsers), grantsTo(read, authenticatedUsers), grantsTo(write, allUsers), read, write)
}

func grantsTo(header, group string) bool {
	return strings.Contains(header, `uri="`+group+`"`) || strings.Contains(header, "uri="+group)
}

// fromGrants turns group grants into the canned ACL they amount to.
func fromGrants(allRead, authRead, allWrite bool, read, write string) (acl, *s3Error) {
	count := func(s string) int {
		if s == "" {
			return 0
		}
		return strings.Count(s, ",") + 1
	}
	groups := 0
	for _, g := range []bool{allRead, authRead, allWrite} {
		if g {
			groups++
		}
	}
	if count(read)+count(write) > groups {
		return "", notSimulated("grants to single users")
	}
	switch {
	case allRead && allWrite:
		return publicReadWrite, nil
	case allWrite:
		return "", notSimulated("a write grant without a read grant")
	case allRead:
		return publicRead, nil
	case authRead:
		return authenticatedRead, nil
	}
	return private, nil
}

func notSimulated(what string) *s3Error {
	return &s3Error{http.StatusNotImplemented, "NotImplemented", "The sandbox's object store does not simulate " + what + "; see docs/sandbox.md"}
}

// policyXML is S3's AccessControlPolicy document.
type policyXML struct {
	XMLName xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   ownerXML   `xml:"Owner"`
	Grants  []grantXML `xml:"AccessControlList>Grant"`
}

type ownerXML struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type grantXML struct {
	Grantee    granteeXML `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type granteeXML struct {
	XMLNS       string `xml:"xmlns:xsi,attr,omitempty"`
	Type        string `xml:"xsi:type,attr,omitempty"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

// document is the ACL as GET ?acl shows it: the owner's full control
// and the groups' grants.
func (a acl) document(owner string) []byte {
	user := granteeXML{XMLNS: "http://www.w3.org/2001/XMLSchema-instance", Type: "CanonicalUser", ID: owner, DisplayName: owner}
	group := func(uri, perm string) grantXML {
		return grantXML{Grantee: granteeXML{XMLNS: "http://www.w3.org/2001/XMLSchema-instance", Type: "Group", URI: uri}, Permission: perm}
	}
	doc := policyXML{Owner: ownerXML{ID: owner, DisplayName: owner}, Grants: []grantXML{{Grantee: user, Permission: "FULL_CONTROL"}}}
	switch a {
	case publicRead:
		doc.Grants = append(doc.Grants, group(allUsers, "READ"))
	case publicReadWrite:
		doc.Grants = append(doc.Grants, group(allUsers, "READ"), group(allUsers, "WRITE"))
	case authenticatedRead:
		doc.Grants = append(doc.Grants, group(authenticatedUsers, "READ"))
	}
	b, _ := xml.Marshal(doc)
	return append([]byte(xml.Header), b...)
}

// parseDocument reads the ACL a PUT ?acl sends as a document (s3cmd's
// setacl does): the owner's grants, and the groups'.
func parseDocument(body io.Reader, owner string) (acl, *s3Error) {
	var doc struct {
		Grants []struct {
			Grantee struct {
				ID  string `xml:"ID"`
				URI string `xml:"URI"`
			} `xml:"Grantee"`
			Permission string `xml:"Permission"`
		} `xml:"AccessControlList>Grant"`
	}
	if err := xml.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&doc); err != nil {
		return "", &s3Error{http.StatusBadRequest, "MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema"}
	}
	var allRead, authRead, allWrite bool
	for _, g := range doc.Grants {
		switch {
		case g.Grantee.ID == owner:
		case g.Grantee.URI == allUsers && g.Permission == "READ":
			allRead = true
		case g.Grantee.URI == allUsers && g.Permission == "WRITE":
			allWrite = true
		case g.Grantee.URI == authenticatedUsers && g.Permission == "READ":
			authRead = true
		default:
			return "", notSimulated("grants to single users or of " + g.Permission)
		}
	}
	return fromGrants(allRead, authRead, allWrite, "", "")
}
