package stack

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cosocial/cosocial/pkg/objectstore"
)

// The program exports each resource's connection details as
// "<address>.<field>"; these read them back for the commands that reach
// the resources themselves (db measure, migrate).

// Created lists the addresses of the resources that have outputs.
func Created(out auto.OutputMap) map[string]bool {
	created := map[string]bool{}
	for k := range out {
		if i := strings.LastIndex(k, "."); i > 0 {
			created[k[:i]] = true
		}
	}
	return created
}

func output(out auto.OutputMap, addr, field string) (any, error) {
	if out == nil {
		return nil, errors.New("the stack's outputs could not be read")
	}
	v, ok := out[addr+"."+field]
	if !ok {
		return nil, fmt.Errorf("%s is not created up in this stack: run `cosocial up` first", addr)
	}
	return v.Value, nil
}

// BucketAccess is how a created-up bucket is reached, its keys included.
func BucketAccess(out auto.OutputMap, name string) (objectstore.Bucket, error) {
	var vals [4]string
	for i, f := range []string{"endpoint", "bucket", "accessKey", "secretKey"} {
		v, err := output(out, "bucket."+name, f)
		if err != nil {
			return objectstore.Bucket{}, err
		}
		vals[i], _ = v.(string)
	}
	return objectstore.Bucket{Endpoint: vals[0], Name: vals[1], AccessKey: vals[2], SecretKey: vals[3]}, nil
}

// DatabaseDSN is a postgres:// URL to a created-up database, as the first
// of the users the stack made for it, into the database of the same name.
// It holds a password: keep it in memory. TLS is off for the sandbox's
// loopback clusters only.
func DatabaseDSN(out auto.OutputMap, name string, sandbox bool) (string, error) {
	addr := "database." + name
	host, err := output(out, addr, "host")
	if err != nil {
		return "", err
	}
	port, err := output(out, addr, "port")
	if err != nil {
		return "", err
	}
	pw, err := output(out, addr, "passwords")
	if err != nil {
		return "", err
	}
	passwords, _ := pw.(map[string]any)
	if len(passwords) == 0 {
		return "", fmt.Errorf("%s has no users in the stack: run `cosocial up` first", addr)
	}
	users := make([]string, 0, len(passwords))
	for u := range passwords {
		users = append(users, u)
	}
	sort.Strings(users)
	password, _ := passwords[users[0]].(string)
	p := fmt.Sprint(port)
	if f, err := strconv.ParseFloat(p, 64); err == nil {
		p = strconv.Itoa(int(f)) // numbers come back from the engine as float64
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(users[0], password), Host: fmt.Sprintf("%v:%s", host, p), Path: "/" + users[0]}
	if sandbox {
		u.RawQuery = "sslmode=disable"
	}
	return u.String(), nil
}

// ServerIPv6 is a created-up server's public IPv6 address, "" when it has
// none.
func ServerIPv6(out auto.OutputMap, name string) string {
	v, _ := output(out, "server."+name, "ipv6")
	ip, _ := v.(string)
	return ip
}

// ServerHostKey is the SSH host key a created-up server was given at its
// creation, in authorized_keys form; "" for a server made before the tool
// pinned host keys, which a connection must then be told of.
func ServerHostKey(out auto.OutputMap, name string) string {
	v, _ := output(out, "server."+name, "hostKey")
	k, _ := v.(string)
	return k
}

// ServerLoginKey is the private key of the account cosocial logs in to a
// created-up server with (a secret); "" for a server made before it had one.
func ServerLoginKey(out auto.OutputMap, name string) string {
	v, _ := output(out, "server."+name, "loginKey")
	k, _ := v.(string)
	return k
}

// ServerIPv4 is a created-up server's public address.
func ServerIPv4(out auto.OutputMap, name string) (string, error) {
	v, err := output(out, "server."+name, "ipv4")
	if err != nil {
		return "", err
	}
	ip, _ := v.(string)
	if ip == "" {
		return "", fmt.Errorf("server.%s has no public IPv4 address in the stack", name)
	}
	return ip, nil
}
