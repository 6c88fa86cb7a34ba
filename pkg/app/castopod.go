package app

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Castopod, as its Docker guide runs it (1.13): the castopod/castopod
// image (the app behind NGINX Unit on 8000), MySQL or MariaDB, Redis for
// the cache, and media in S3. Its image migrates the database itself when
// it starts (castopod:database-update): no tasks of the tool's.
func init() {
	Register(&App{
		Name:      "castopod",
		Example:   `"1.13.2"`,
		EnvFile:   ".env",
		AppPort:   8000,
		RedisPort: 6380,
		Secrets: []Secret{
			// The image refuses to start without it; it keys the
			// listeners' anonymised analytics.
			{Names: []string{"CP_ANALYTICS_SALT"}, Make: func() ([]string, error) {
				s, err := alphanumeric(64)
				return []string{s}, err
			}},
		},
		Env: castopodEnv,
		// Castopod has no health or version endpoint: its home page.
		HealthPath: "/",
		Check: func(s Spec) error {
			// The image's entrypoint writes the password between double
			// quotes into CodeIgniter's .env.
			if strings.ContainsAny(s.Database.Password, `"\`) {
				return errors.New("the database password holds a double quote or a backslash, which Castopod's image cannot pass on: set a new password without them")
			}
			return nil
		},
	})
}

func castopodEnv(s Spec, secrets map[string]string) []Setting {
	env := []Setting{
		{"CP_BASEURL", "https://" + s.Domain},
		{"CP_ANALYTICS_SALT", secrets["CP_ANALYTICS_SALT"]},
		{"CP_DATABASE_HOSTNAME", s.Database.Host},
		// The image's entrypoint has no setting for the port; CodeIgniter
		// reads this one from the environment (a managed MySQL seldom
		// listens on 3306).
		{"database.default.port", strconv.Itoa(s.Database.Port)},
		{"CP_DATABASE_NAME", s.Database.Name},
		{"CP_DATABASE_USERNAME", s.Database.User},
		{"CP_DATABASE_PASSWORD", s.Database.Password},
		{"CP_CACHE_HANDLER", "redis"},
		{"CP_REDIS_HOST", s.listen()},
		{"CP_REDIS_PORT", strconv.Itoa(registry["castopod"].RedisPort)},
	}
	if m := s.Media; m != nil {
		u, _ := url.Parse(m.Endpoint)
		env = append(env,
			Setting{"CP_MEDIA_FILE_MANAGER", "s3"},
			Setting{"CP_MEDIA_S3_ENDPOINT", m.Endpoint},
			Setting{"CP_MEDIA_S3_PROTOCOL", u.Scheme},
			Setting{"CP_MEDIA_S3_PATH_STYLE_ENDPOINT", "true"},
			Setting{"CP_MEDIA_S3_KEY", m.AccessKey},
			Setting{"CP_MEDIA_S3_SECRET", m.SecretKey},
			Setting{"CP_MEDIA_S3_REGION", m.region()},
			Setting{"CP_MEDIA_S3_BUCKET", m.Name},
		)
		if s.MediaHost != "" {
			env = append(env, Setting{"CP_MEDIA_BASEURL", "https://" + s.MediaHost})
		}
	}
	if m := s.SMTP; m != nil {
		env = append(env,
			Setting{"CP_EMAIL_SMTP_HOST", m.Host},
			Setting{"CP_EMAIL_SMTP_PORT", strconv.Itoa(m.Port)},
			Setting{"CP_EMAIL_SMTP_USERNAME", m.User},
			Setting{"CP_EMAIL_SMTP_PASSWORD", m.Password},
			Setting{"CP_EMAIL_FROM", m.From},
		)
		// CodeIgniter's email: "tls" is STARTTLS, "ssl" implicit TLS.
		if m.Port == 465 {
			env = append(env, Setting{"CP_EMAIL_SMTP_CRYPTO", "ssl"})
		} else {
			env = append(env, Setting{"CP_EMAIL_SMTP_CRYPTO", "tls"})
		}
	}
	return env
}
