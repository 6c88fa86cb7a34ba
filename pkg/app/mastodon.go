package app

import (
	"net/url"
	"strconv"
)

// Mastodon, as its docker-compose.yml and .env.production.sample run it
// (4.3): web (Puma on 3000), streaming (4000) and Sidekiq from the same
// release, PostgreSQL, Redis, and media in S3 served under S3_ALIAS_HOST.
func init() {
	Register(&App{
		Name:      "mastodon",
		Example:   `"4.3.2"`,
		Releases:  mastodonReleases,
		EnvFile:   ".env.production",
		AppPort:   3000,
		Routes:    []Route{{Path: "/api/v1/streaming*", Port: 4000}},
		RedisPort: 6379,
		Secrets: []Secret{
			{Names: []string{"SECRET_KEY_BASE"}, Make: hexSecret},
			{Names: []string{"OTP_SECRET"}, Make: hexSecret},
			{Names: []string{"VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY"}, Make: vapidKeys},
			// `bin/rails db:encryption:init`, which 4.3 requires.
			{Names: []string{"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"},
				Make: alphanumerics32x(3)},
		},
		Env:         mastodonEnv,
		HealthPath:  "/health",
		VersionPath: "/api/v1/instance",
		// Rails 7.1's db:prepare loads the schema into an empty database
		// and migrates one that holds data (a database moved from
		// elsewhere), where db:setup would wipe it.
		Install: []Task{{Service: "tasks", Command: "bundle exec rails db:prepare"}},
		// Mastodon's upgrade notes: the migrations the new code needs
		// first, the new code, then the ones that drop what the old code
		// used.
		PreUpgrade:  []Task{{Service: "tasks", Command: "bundle exec rails db:migrate", Env: []string{"SKIP_POST_DEPLOYMENT_MIGRATIONS=true"}}},
		PostUpgrade: []Task{{Service: "tasks", Command: "bundle exec rails db:migrate"}},
	})
}

func mastodonEnv(s Spec, secrets map[string]string) []Setting {
	env := []Setting{
		{"LOCAL_DOMAIN", s.Domain},
		{"RAILS_ENV", "production"},
		{"NODE_ENV", "production"},
		// Caddy is in front: Puma serves the assets itself, and every
		// process listens on the loopback only. PORT is left to each
		// process's default (Puma 3000, streaming 4000): one env file
		// serves both.
		{"RAILS_SERVE_STATIC_FILES", "true"},
		{"BIND", s.listen()},
		{"REDIS_HOST", s.listen()},
		{"REDIS_PORT", strconv.Itoa(registry["mastodon"].RedisPort)},
		{"DB_HOST", s.Database.Host},
		{"DB_PORT", strconv.Itoa(s.Database.Port)},
		{"DB_NAME", s.Database.Name},
		{"DB_USER", s.Database.User},
		{"DB_PASS", s.Database.Password},
	}
	if s.Database.SSLMode != "" {
		env = append(env, Setting{"DB_SSLMODE", s.Database.SSLMode})
	}
	for _, k := range []string{"SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
		"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY"} {
		env = append(env, Setting{k, secrets[k]})
	}
	if m := s.Media; m != nil {
		u, _ := url.Parse(m.Endpoint)
		env = append(env,
			Setting{"S3_ENABLED", "true"},
			Setting{"S3_BUCKET", m.Name},
			Setting{"AWS_ACCESS_KEY_ID", m.AccessKey},
			Setting{"AWS_SECRET_ACCESS_KEY", m.SecretKey},
			Setting{"S3_ENDPOINT", m.Endpoint},
			Setting{"S3_HOSTNAME", u.Host},
			Setting{"S3_PROTOCOL", u.Scheme},
			Setting{"S3_REGION", m.region()},
		)
		if s.MediaHost != "" {
			env = append(env, Setting{"S3_ALIAS_HOST", s.MediaHost})
		}
	}
	if m := s.SMTP; m != nil {
		env = append(env,
			Setting{"SMTP_SERVER", m.Host},
			Setting{"SMTP_PORT", strconv.Itoa(m.Port)},
			Setting{"SMTP_FROM_ADDRESS", m.From},
		)
		if m.User != "" {
			env = append(env, Setting{"SMTP_LOGIN", m.User}, Setting{"SMTP_PASSWORD", m.Password})
		} else {
			env = append(env, Setting{"SMTP_AUTH_METHOD", "none"})
		}
		if m.Port == 465 {
			// Implicit TLS (smtps): Mastodon's mailer would otherwise
			// wait for a STARTTLS greeting that never comes.
			env = append(env, Setting{"SMTP_TLS", "true"}, Setting{"SMTP_ENABLE_STARTTLS", "never"})
		}
	}
	return env
}
