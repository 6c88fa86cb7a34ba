package remote

import (
	"errors"
	"strings"
	"testing"
)

const envBefore = `# Generated with mastodon:setup on 2023-01-14 04:12:01 UTC

LOCAL_DOMAIN=cosocial.ca
SINGLE_USER_MODE=false

# PostgreSQL
DB_HOST=db-postgresql-tor1-41235-do-user-1-0.b.db.ondigitalocean.com
DB_PORT=25060
DB_NAME=mastodon_production
DB_USER=doadmin
DB_PASS="old-pass-with-#-inside"   # from the DO console
  export REDIS_URL=redis://localhost:6379/0

S3_ENABLED=true
S3_ENDPOINT=https://tor1.digitaloceanspaces.com
S3_BUCKET=cosocial-media
S3_ALIAS_HOST=media.cosocial.ca
AWS_ACCESS_KEY_ID=DO00OLDKEY
AWS_SECRET_ACCESS_KEY=oldsecret
PEM_KEY="-----BEGIN KEY-----
S3_BUCKET=not-a-key-but-inside-a-quoted-value
-----END KEY-----"
not a setting at all
DB_HOST=db-duplicate.example
`

func TestRewriteEnvChangesOnlyTheNamedKeys(t *testing.T) {
	changes := map[string]string{
		"DB_HOST":               "db.bhs.cosocial.internal",
		"DB_PORT":               "25060", // unchanged: its line stays as it was
		"DB_USER":               "mastodon",
		"DB_PASS":               "n3w pa$$ #word",
		"S3_ENDPOINT":           "https://s3.bhs.io.cloud.ovh.net",
		"S3_BUCKET":             "cosocial-media",
		"S3_REGION":             "bhs",
		"S3_HOSTNAME":           "s3.bhs.io.cloud.ovh.net",
		"AWS_ACCESS_KEY_ID":     "0a1b2c3d",
		"AWS_SECRET_ACCESS_KEY": "sEcReT+/=",
	}
	got, err := RewriteEnv([]byte(envBefore), changes)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(
		"DB_HOST=db-postgresql-tor1-41235-do-user-1-0.b.db.ondigitalocean.com", "DB_HOST=db.bhs.cosocial.internal",
		"DB_USER=doadmin", "DB_USER=mastodon",
		`DB_PASS="old-pass-with-#-inside"   # from`, `DB_PASS='n3w pa$$ #word'   # from`,
		"S3_ENDPOINT=https://tor1.digitaloceanspaces.com", "S3_ENDPOINT=https://s3.bhs.io.cloud.ovh.net",
		"AWS_ACCESS_KEY_ID=DO00OLDKEY", "AWS_ACCESS_KEY_ID=0a1b2c3d",
		"AWS_SECRET_ACCESS_KEY=oldsecret", "AWS_SECRET_ACCESS_KEY=sEcReT+/=", // base64 needs no quotes
		"DB_HOST=db-duplicate.example", "DB_HOST=db.bhs.cosocial.internal",
	).Replace(envBefore) + "# Added by cosocial migrate\nS3_HOSTNAME=s3.bhs.io.cloud.ovh.net\nS3_REGION=bhs\n"
	if string(got) != want {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("RewriteEnv differs at byte %d: got %q, want %q\nwhole:\n%s", i, got[i:min(i+40, len(got))], want[i:min(i+40, len(want))], got)
	}

	again, err := RewriteEnv(got, changes)
	if err != nil || string(again) != string(got) {
		t.Errorf("a second rewrite with the same changes should change nothing:\n%s", again)
	}

	vals, err := ParseEnv(got)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range changes {
		if vals[k] != v {
			t.Errorf("%s reads back as %q, want %q", k, vals[k], v)
		}
	}
	if vals["S3_ALIAS_HOST"] != "media.cosocial.ca" || vals["REDIS_URL"] != "redis://localhost:6379/0" {
		t.Errorf("untouched settings changed: %v", vals)
	}
}

func TestRewriteEnvKeepsLineEndings(t *testing.T) {
	got, err := RewriteEnv([]byte("A=1\r\n# c\r\nB=2"), map[string]string{"B": "3", "C": "4"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "A=1\r\n# c\r\nB=3\r\n# Added by cosocial migrate\r\nC=4\r\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRewriteEnvRefusesProtectedKeys(t *testing.T) {
	for _, key := range []string{"S3_ALIAS_HOST", "LOCAL_DOMAIN", "SECRET_KEY_BASE"} {
		_, err := RewriteEnv([]byte(envBefore), map[string]string{"DB_HOST": "x", key: "new.example"})
		var pe *ProtectedKeyError
		if !errors.As(err, &pe) || pe.Key != key || !strings.Contains(err.Error(), key) {
			t.Errorf("changing %s: %v, want a ProtectedKeyError", key, err)
		}
	}
}

func TestRewriteEnvErrorsHoldNoSecret(t *testing.T) {
	const secret = "hunter2-Sup3rS3cret"
	cases := map[string]struct {
		old     string
		changes map[string]string
	}{
		"line break in the new value":  {envBefore, map[string]string{"DB_PASS": secret + "\nDB_HOST=evil"}},
		"quote and space in the value": {envBefore, map[string]string{"DB_PASS": secret + "'s pass"}},
		"unclosed quote in the file":   {"DB_HOST=a\nDB_PASS='" + secret + "\nS3_BUCKET=b\n", map[string]string{"DB_HOST": "b"}},
		"bad key":                      {envBefore, map[string]string{"DB PASS": secret}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := RewriteEnv([]byte(c.old), c.changes)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error leaks the secret: %v", err)
			}
			t.Log(err)
		})
	}
}
