package app

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
)

// MakeSecrets returns the app's secrets: those in have, kept as they are,
// and any the app needs that have lacks, made now. It never makes again a
// secret that exists: SECRET_KEY_BASE signs every session, the Active
// Record keys decrypt what the app encrypted, the VAPID keys are what
// members' browsers subscribed to. added lists the names made.
func MakeSecrets(appName string, have map[string]string) (secrets map[string]string, added []string, err error) {
	a, err := Lookup(appName)
	if err != nil {
		return nil, nil, err
	}
	secrets = maps.Clone(have)
	if secrets == nil {
		secrets = map[string]string{}
	}
	for _, s := range a.Secrets {
		missing := false
		for _, n := range s.Names {
			missing = missing || secrets[n] == ""
		}
		if !missing {
			continue
		}
		for _, n := range s.Names {
			if secrets[n] != "" {
				// Half of a pair: making the other half anew would not
				// match it.
				return nil, nil, fmt.Errorf("%s has %s but not the rest of %v: restore it from a backup of the state rather than make a new pair", appName, n, s.Names)
			}
		}
		vals, err := s.Make()
		if err != nil {
			return nil, nil, err
		}
		for i, n := range s.Names {
			secrets[n] = vals[i]
			added = append(added, n)
		}
	}
	return secrets, added, nil
}

// hexSecret is what `rake secret` makes: 64 random bytes, in hex.
func hexSecret() ([]string, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return []string{hex.EncodeToString(b)}, nil
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// alphanumeric makes n random letters and digits, as Ruby's
// SecureRandom.alphanumeric does for `rails db:encryption:init`.
func alphanumeric(n int) (string, error) {
	out := make([]byte, n)
	// Rejection sampling keeps every character equally likely.
	for i := 0; i < n; {
		var b [1]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		if int(b[0]) < 256-256%len(alphanumerics) {
			out[i] = alphanumerics[int(b[0])%len(alphanumerics)]
			i++
		}
	}
	return string(out), nil
}

func alphanumerics32x(n int) func() ([]string, error) {
	return func() ([]string, error) {
		out := make([]string, n)
		for i := range out {
			s, err := alphanumeric(32)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
}

// vapidKeys makes a Web Push key pair as Mastodon's
// `rake mastodon:webpush:generate_vapid_key` does: a P-256 key, the
// private scalar and the uncompressed public point in URL-safe base64.
func vapidKeys() ([]string, error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return []string{base64.URLEncoding.EncodeToString(k.Bytes()), base64.URLEncoding.EncodeToString(k.PublicKey().Bytes())}, nil
}
