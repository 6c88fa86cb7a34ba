package app

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"
)

// Pixelfed publishes no image of its own: its maintainers point to
// jippi/docker-pixelfed (pixelfed issue #5574, pixelfed/docs #19), whose
// compose.yaml runs web (Apache with PHP, on 80), a Horizon worker and the
// scheduler from one image. Its entrypoint sources no env file here: the
// settings come from Compose's env_file, the one-time setup and automatic
// migrations are off, and the tool runs the migrations itself, as
// Pixelfed's docs order an update (pull, `php artisan migrate --force`).
// Apache is moved off port 80, which Caddy holds, through the image's
// overrides folder (copied over / when a container starts, before its
// templates are rendered).
func init() {
	migrate := Task{Service: "tasks", Command: "gosu www-data php artisan migrate --force"}
	Register(&App{
		Name:      "pixelfed",
		Example:   `"0.12.4"`,
		EnvFile:   ".env",
		AppPort:   8080,
		RedisPort: 6381,
		Secrets: []Secret{
			// `php artisan key:generate`: 32 random bytes for
			// AES-256-CBC, base64 with Laravel's prefix. It encrypts
			// sessions and what the app stores encrypted.
			{Names: []string{"APP_KEY"}, Make: func() ([]string, error) {
				b := make([]byte, 32)
				if _, err := rand.Read(b); err != nil {
					return nil, err
				}
				return []string{"base64:" + base64.StdEncoding.EncodeToString(b)}, nil
			}},
			// `php artisan passport:keys`: the RSA pair every OAuth token
			// of members' apps is signed with; a new pair logs every app
			// out.
			{Names: []string{"PASSPORT_PRIVATE_KEY", "PASSPORT_PUBLIC_KEY"}, Make: passportKeys},
		},
		Env:         pixelfedEnv,
		HealthPath:  "/api/service/health-check",
		VersionPath: "/api/nodeinfo/2.0.json",
		Install: []Task{
			migrate,
			// What the image's first-time setup would run after the
			// migrations: the places search, and the instance's own
			// ActivityPub actor.
			{Service: "tasks", Command: "gosu www-data php artisan import:cities"},
			{Service: "tasks", Command: "gosu www-data php artisan instance:actor"},
		},
		PreUpgrade: []Task{migrate},
		Files: func(s Spec) (map[string][]byte, error) {
			data := map[string]any{"Listen": s.listen(), "Port": 8080}
			ports, err := execute("apps/pixelfed/ports.conf.tmpl", data)
			if err != nil {
				return nil, err
			}
			site, err := execute("apps/pixelfed/000-default.conf.tmpl", data)
			if err != nil {
				return nil, err
			}
			return map[string][]byte{
				"overrides/etc/apache2/ports.conf":                                      ports,
				"overrides/docker/templates/etc/apache2/sites-enabled/000-default.conf": site,
			}, nil
		},
	})
}

// passportKeys makes the pair as `passport:keys` does (phpseclib's RSA,
// 4096 bits), in PEM: PKCS#8 for the private key, SPKI for the public.
func passportKeys() ([]string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		return nil, err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}, nil
}

func pixelfedEnv(s Spec, secrets map[string]string) []Setting {
	connection := "pgsql"
	if s.Database.Engine == "mysql" {
		connection = "mysql"
	}
	env := []Setting{
		{"APP_NAME", s.Name},
		{"APP_ENV", "production"},
		{"APP_DOMAIN", s.Domain},
		{"APP_URL", "https://" + s.Domain},
		{"ADMIN_DOMAIN", s.Domain},
		{"SESSION_DOMAIN", s.Domain},
		{"APP_KEY", secrets["APP_KEY"]},
		{"OAUTH_ENABLED", "true"},
		{"PASSPORT_PRIVATE_KEY", secrets["PASSPORT_PRIVATE_KEY"]},
		{"PASSPORT_PUBLIC_KEY", secrets["PASSPORT_PUBLIC_KEY"]},
		{"ACTIVITY_PUB", "true"},
		{"AP_REMOTE_FOLLOW", "true"},
		{"AP_INBOX", "true"},
		{"AP_OUTBOX", "true"},
		{"AP_SHAREDINBOX", "true"},
		// Caddy, on this server, is the only proxy in front.
		{"TRUST_PROXIES", s.listen()},
		{"LOG_CHANNEL", "stderr"},
		{"DB_CONNECTION", connection},
		{"DB_HOST", s.Database.Host},
		{"DB_PORT", strconv.Itoa(s.Database.Port)},
		{"DB_DATABASE", s.Database.Name},
		{"DB_USERNAME", s.Database.User},
		{"DB_PASSWORD", s.Database.Password},
		{"REDIS_HOST", s.listen()},
		{"REDIS_PORT", strconv.Itoa(registry["pixelfed"].RedisPort)},
		{"CACHE_DRIVER", "redis"},
		{"QUEUE_DRIVER", "redis"},
		{"BROADCAST_DRIVER", "redis"},
		{"SESSION_DRIVER", "redis"},
		// The tool runs the migrations in the documented order; the
		// image's own first-time setup would make an APP_KEY of its own.
		{"DOCKER_APP_RUN_ONE_TIME_SETUP_TASKS", "0"},
		{"DB_APPLY_NEW_MIGRATIONS_AUTOMATICALLY", "0"},
	}
	if s.Database.SSLMode != "" && connection == "pgsql" {
		env = append(env, Setting{"DB_SSLMODE", s.Database.SSLMode})
	}
	if m := s.Media; m != nil {
		env = append(env,
			Setting{"PF_ENABLE_CLOUD", "true"},
			Setting{"FILESYSTEM_CLOUD", "s3"},
			Setting{"MEDIA_DELETE_LOCAL_AFTER_CLOUD", "true"},
			Setting{"AWS_ACCESS_KEY_ID", m.AccessKey},
			Setting{"AWS_SECRET_ACCESS_KEY", m.SecretKey},
			Setting{"AWS_DEFAULT_REGION", m.region()},
			Setting{"AWS_BUCKET", m.Name},
			Setting{"AWS_ENDPOINT", m.Endpoint},
			Setting{"AWS_USE_PATH_STYLE_ENDPOINT", "true"},
		)
		if s.MediaHost != "" {
			env = append(env, Setting{"AWS_URL", "https://" + s.MediaHost})
		}
	}
	if m := s.SMTP; m != nil {
		encryption := "tls"
		if m.Port == 465 {
			encryption = "ssl"
		}
		env = append(env,
			Setting{"MAIL_DRIVER", "smtp"},
			Setting{"MAIL_HOST", m.Host},
			Setting{"MAIL_PORT", strconv.Itoa(m.Port)},
			Setting{"MAIL_USERNAME", m.User},
			Setting{"MAIL_PASSWORD", m.Password},
			Setting{"MAIL_ENCRYPTION", encryption},
			Setting{"MAIL_FROM_ADDRESS", m.From},
			Setting{"MAIL_FROM_NAME", s.Name},
		)
	}
	return env
}
