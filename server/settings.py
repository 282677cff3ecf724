"""Settings, all from environment variables.

DATABASE_URL and REDIS_URL name the servers. `make run` / `make test` set them through
server/launcher.py, which falls back to servers on localhost and then to private ones
under var/.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # A key in the code is everyone's key: it would sign confirmation links, password
        # resets and 2FA backup codes that anyone could forge. The launcher (make run, make
        # test) gives each checkout its own in var/secret_key.
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    SECRET_KEY = "dev-only-key-used-with-DJANGO_DEBUG-" + "x" * 32

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
SITE_NAME = os.environ.get("SITE_NAME", "Tracker")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "domain.accounts",
    "domain.catalog",
    "domain.tracker",
    "domain.bonus",
    "domain.community",
    "domain.moderation",
    "domain.search",
    "domain.demo",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "frontend.middleware.DomainErrorMiddleware",
]

# Content-Security-Policy (django-csp): scripts and styles only from our own static files,
# no inline script, style or event handler, so text a member writes cannot run even if it
# ever got past the sanitizer. Posters may come from metadata sites over https; the live
# socket is same-origin ('self' covers ws:/wss: to this host).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

ROOT_URLCONF = "server.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "server.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.site",
                "frontend.context_processors.header_unread",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    )
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("DATABASE_TEST_NAME") or None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Member uploads (avatars), served by the site itself at MEDIA_URL (frontend.views.media).
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
AVATAR_MAX_BYTES = int(os.environ.get("AVATAR_MAX_BYTES", str(256 * 1024)))
AVATAR_MAX_SIDE = int(os.environ.get("AVATAR_MAX_SIDE", "512"))
PROFILE_TEXT_MAX = int(os.environ.get("PROFILE_TEXT_MAX", "10000"))

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tracker@localhost")

# Redis: one URL for the channel layer, the cache and the Celery broker (separate DBs).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# redis-py's default socket_timeout kills channels-redis receive loops on idle sockets,
# and its default pool (100) overflows under connect bursts: both set explicitly.
REDIS_SOCKET_TIMEOUT = None
REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", "1000"))
# The async pools (channel layer, presence) block: a connect burst past the cap waits up to
# this many seconds for a free connection instead of failing with "Too many connections".
REDIS_POOL_TIMEOUT = float(os.environ.get("REDIS_POOL_TIMEOUT", "10"))

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "server.channel_layer.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": REDIS_SOCKET_TIMEOUT,
                    "socket_connect_timeout": 5,
                    "max_connections": REDIS_MAX_CONNECTIONS,
                    "pool_timeout": REDIS_POOL_TIMEOUT,  # server/channel_layer.py
                    "retry_on_timeout": True,
                }
            ],
            "prefix": os.environ.get("CHANNELS_PREFIX", "asgi"),
            "capacity": 1000,
            "expiry": 60,
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "tracker"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2,
                    # One pool per process, not one per request or socket (server/cache_pool.py).
                    "pool_class": "server.cache_pool.SharedConnectionPool"},
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How many months of announces/audit_logs partitions exist ahead of now.
PARTITION_MONTHS_AHEAD = int(os.environ.get("PARTITION_MONTHS_AHEAD", "3"))
PARTITION_MAINTENANCE_SECONDS = int(os.environ.get("PARTITION_MAINTENANCE_SECONDS", "86400"))
# Months of announces / audit_logs kept in the database; older months are written to
# PARTITION_ARCHIVE_DIR as gzip'd CSV and dropped (monthly, by beat).
ANNOUNCES_RETENTION_MONTHS = int(os.environ.get("ANNOUNCES_RETENTION_MONTHS", "12"))
AUDIT_LOGS_RETENTION_MONTHS = int(os.environ.get("AUDIT_LOGS_RETENTION_MONTHS", "24"))
PARTITION_ARCHIVE_DIR = os.environ.get("PARTITION_ARCHIVE_DIR", str(BASE_DIR / "var" / "archive"))
# peer_history rows older than this many days are summed into peer_history_daily (hourly).
PEER_HISTORY_RAW_DAYS = int(os.environ.get("PEER_HISTORY_RAW_DAYS", "7"))
PEER_HISTORY_ROLLUP_SECONDS = int(os.environ.get("PEER_HISTORY_ROLLUP_SECONDS", "3600"))
PARTITION_ARCHIVE_SECONDS = int(os.environ.get("PARTITION_ARCHIVE_SECONDS", str(30 * 86400)))

# Where the tracker's announce URL points, as seen by torrent clients.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# TLS at a reverse proxy (DJANGO_HTTPS=1): the proxy must set X-Forwarded-Proto itself,
# overwriting what the client sent. Then cookies go over TLS only, plain HTTP is redirected
# (but /healthz and /metrics, asked by monitors on the inside) and browsers are told to
# use TLS (HSTS). Announces are not Django's and are never redirected: many clients do
# not follow a redirect.
HTTPS = env_bool("DJANGO_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^metrics/?$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 86400)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)

AUTHENTICATION_BACKENDS = ["domain.accounts.backends.UsernameOrEmailBackend"]
# users.username is unique case-insensitively (a functional unique index on lower(username)),
# which Django's check does not recognise; our backend looks names up with iexact.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
FORMS_URLFIELD_ASSUME_HTTPS = True

# --- torrents ---
# Largest .torrent accepted (the upload request body is capped a little above this).
TORRENT_UPLOAD_MAX_BYTES = int(os.environ.get("TORRENT_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
# Largest file (and whole content) a torrent may describe, and how many files it may list.
TORRENT_MAX_CONTENT_BYTES = int(os.environ.get("TORRENT_MAX_CONTENT_BYTES", str(2**44)))
TORRENT_MAX_FILES = int(os.environ.get("TORRENT_MAX_FILES", "20000"))
# How long an uploader may still edit their own torrent; a tag whose vote score falls
# to this value or below is removed.
TORRENT_EDIT_WINDOW_HOURS = int(os.environ.get("TORRENT_EDIT_WINDOW_HOURS", "72"))
TORRENT_TAG_REMOVE_SCORE = int(os.environ.get("TORRENT_TAG_REMOVE_SCORE", "-3"))
TORRENTS_PER_PAGE = int(os.environ.get("TORRENTS_PER_PAGE", "50"))
# The torrents and requests browse pages count matches up to this many rows past the start
# of the page ("1,000+" beyond; domain/paging.py); 0 counts every match on every page.
BROWSE_COUNT_CAP = int(os.environ.get("BROWSE_COUNT_CAP", "1000"))
# Search: PostgreSQL full text unless MEILISEARCH_URL is set.
MEILISEARCH_URL = os.environ.get("MEILISEARCH_URL", "")
MEILISEARCH_API_KEY = os.environ.get("MEILISEARCH_API_KEY", "")
MEILISEARCH_INDEX = os.environ.get("MEILISEARCH_INDEX", "torrents")
SEARCH_QUEUE_DRAIN_SECONDS = int(os.environ.get("SEARCH_QUEUE_DRAIN_SECONDS", "30"))
SEARCH_QUEUE_BATCH = int(os.environ.get("SEARCH_QUEUE_BATCH", "200"))
SEARCH_QUEUE_MAX_ATTEMPTS = int(os.environ.get("SEARCH_QUEUE_MAX_ATTEMPTS", "8"))
SEARCH_QUEUE_BACKOFF_SECONDS = int(os.environ.get("SEARCH_QUEUE_BACKOFF_SECONDS", "30"))
SEARCH_QUEUE_PURGE_SECONDS = int(os.environ.get("SEARCH_QUEUE_PURGE_SECONDS", str(7 * 86400)))
SEARCH_QUEUE_KEEP_DAYS = int(os.environ.get("SEARCH_QUEUE_KEEP_DAYS", "7"))

# --- requests (domain/catalog/requests.py) ---
# The least bounty a request is created with or a vote adds (bonus points); how long a
# requester must wait before filling their own request with their own upload (others get
# the first chance at the bounty); requests per browse page.
REQUEST_MIN_BOUNTY = os.environ.get("REQUEST_MIN_BOUNTY", "100")
REQUEST_MAX_BOUNTY = os.environ.get("REQUEST_MAX_BOUNTY", "10000000")
REQUEST_SELF_FILL_GRACE_HOURS = int(os.environ.get("REQUEST_SELF_FILL_GRACE_HOURS", "72"))
REQUESTS_PER_PAGE = int(os.environ.get("REQUESTS_PER_PAGE", "50"))
# How often beat recomputes the top 10 lists and rewrites today's site statistics row.
TOP10_REFRESH_SECONDS = int(os.environ.get("TOP10_REFRESH_SECONDS", "900"))
SITE_STATISTICS_SECONDS = int(os.environ.get("SITE_STATISTICS_SECONDS", "3600"))
# Members whose header figures moved get one live "member.stats" per this many seconds.
MEMBER_STATS_PUBLISH_SECONDS = float(os.environ.get("MEMBER_STATS_PUBLISH_SECONDS", "5"))

# --- bonus ---
# Earning: each period of BONUS_EARNING_PERIOD_SECONDS is awarded once, after the tracker's
# flush has had BONUS_EARNING_GRACE_SECONDS to write its peer_history rows; beat looks for due
# periods every BONUS_EARNING_SCHEDULE_SECONDS and catches up at most
# BONUS_EARNING_CATCH_UP_PERIODS after an outage.
BONUS_EARNING_PERIOD_SECONDS = int(os.environ.get("BONUS_EARNING_PERIOD_SECONDS", "3600"))
BONUS_EARNING_GRACE_SECONDS = int(os.environ.get("BONUS_EARNING_GRACE_SECONDS", "600"))
BONUS_EARNING_SCHEDULE_SECONDS = int(os.environ.get("BONUS_EARNING_SCHEDULE_SECONDS", "300"))
BONUS_EARNING_CATCH_UP_PERIODS = int(os.environ.get("BONUS_EARNING_CATCH_UP_PERIODS", "48"))
BONUS_TOKEN_EXPIRY_SECONDS = int(os.environ.get("BONUS_TOKEN_EXPIRY_SECONDS", "60"))
BONUS_STATISTICS_RECOMPUTE_SECONDS = int(
    os.environ.get("BONUS_STATISTICS_RECOMPUTE_SECONDS", "86400"))
# Prices, in points (decimal strings).
BONUS_UPLOAD_PRICE_PER_GIB = os.environ.get("BONUS_UPLOAD_PRICE_PER_GIB", "100")
BONUS_UPLOAD_MAX_GIB = int(os.environ.get("BONUS_UPLOAD_MAX_GIB", "100"))
BONUS_TOKEN_PRICE = os.environ.get("BONUS_TOKEN_PRICE", "250")
BONUS_TOKEN_MAX_PER_PURCHASE = int(os.environ.get("BONUS_TOKEN_MAX_PER_PURCHASE", "10"))
# A used token makes one torrent free for this long, or until this much was downloaded.
BONUS_TOKEN_LIFETIME_SECONDS = int(os.environ.get("BONUS_TOKEN_LIFETIME_SECONDS",
                                                  str(4 * 86400)))
BONUS_TOKEN_MAX_DOWNLOAD_BYTES = int(os.environ.get("BONUS_TOKEN_MAX_DOWNLOAD_BYTES",
                                                    str(50 * 1024**3)))
BONUS_GIFT_MAX = os.environ.get("BONUS_GIFT_MAX", "100000")
BONUS_GIFT_MESSAGE_MAX_LENGTH = 500

# --- accounts ---
# Sessions live in user_sessions (token as SHA-256) with their data in Redis.
SESSION_ENGINE = "domain.accounts.sessions"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(14 * 86400)))
# Session rows stay this long after they end, for the sessions page and investigations.
SESSION_ROW_KEEP_DAYS = int(os.environ.get("SESSION_ROW_KEEP_DAYS", "30"))
SESSION_CLEANUP_SECONDS = int(os.environ.get("SESSION_CLEANUP_SECONDS", "86400"))
GROUP_AUTO_APPLY_SECONDS = int(os.environ.get("GROUP_AUTO_APPLY_SECONDS", "3600"))
# open | invite | closed
REGISTRATION_MODE = os.environ.get("REGISTRATION_MODE", "invite")
EMAIL_CONFIRMATION_DAYS = int(os.environ.get("EMAIL_CONFIRMATION_DAYS", "3"))
INVITE_VALID_DAYS = int(os.environ.get("INVITE_VALID_DAYS", "7"))
LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("LOGIN_MAX_FAILURES_PER_IP", "20"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
# Wrong second-factor codes per account (any source) before its 2FA step locks for the window.
LOGIN_MAX_2FA_FAILURES = int(os.environ.get("LOGIN_MAX_2FA_FAILURES", "5"))
# Wrong passwords re-asked in settings (password, email, 2FA changes) per account per window.
PASSWORD_RECHECK_MAX_FAILURES = int(os.environ.get("PASSWORD_RECHECK_MAX_FAILURES", "5"))
# Sign-up attempts per source address per hour (every registration mode).
REGISTRATION_PER_IP_PER_HOUR = int(os.environ.get("REGISTRATION_PER_IP_PER_HOUR", "10"))
# Comments (posts and edits) and tag actions (adds and votes) per member per minute.
CATALOG_COMMENTS_PER_MINUTE = int(os.environ.get("CATALOG_COMMENTS_PER_MINUTE", "6"))
CATALOG_TAG_ACTIONS_PER_MINUTE = int(os.environ.get("CATALOG_TAG_ACTIONS_PER_MINUTE", "30"))
# Logs banned members out on their next request and holds staff to 2FA enrolment.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "frontend.accounts.middleware.AccountGuardMiddleware",
)

# --- community ---
# Chat older than this is deleted by the weekly beat job (community.chat_messages_cleanup).
COMMUNITY_CHAT_RETENTION_DAYS = int(os.environ.get("COMMUNITY_CHAT_RETENTION_DAYS", "90"))
COMMUNITY_CHAT_CLEANUP_SECONDS = int(os.environ.get("COMMUNITY_CHAT_CLEANUP_SECONDS", "604800"))
# Flood control: at most BURST chat messages per member within BURST_SECONDS.
COMMUNITY_CHAT_BURST = int(os.environ.get("COMMUNITY_CHAT_BURST", "5"))
COMMUNITY_CHAT_BURST_SECONDS = int(os.environ.get("COMMUNITY_CHAT_BURST_SECONDS", "5"))
COMMUNITY_PM_PER_MINUTE = int(os.environ.get("COMMUNITY_PM_PER_MINUTE", "10"))
COMMUNITY_FORUM_POSTS_PER_MINUTE = int(os.environ.get("COMMUNITY_FORUM_POSTS_PER_MINUTE", "6"))
# Per-socket frame budget (token bucket): a burst, refilled per second.
LIVE_FRAME_BURST = int(os.environ.get("LIVE_FRAME_BURST", "30"))
LIVE_FRAMES_PER_SECOND = float(os.environ.get("LIVE_FRAMES_PER_SECOND", "5"))
# Streams one socket may follow at once.
LIVE_MAX_STREAMS = int(os.environ.get("LIVE_MAX_STREAMS", "200"))
# Open sockets one member may have at once, across every server process (tabs, devices);
# the one over it is refused with close code 4429 (consumers.socketcap). 0: no cap.
LIVE_MAX_SOCKETS_PER_MEMBER = int(os.environ.get("LIVE_MAX_SOCKETS_PER_MEMBER", "20"))
# Catch-up after a reconnect replays from the page's last event id minus this window: a
# change stamped earlier but committed later than one the page saw is not missed (the
# page lists what it already has in the window, so nothing arrives twice).
LIVE_CATCH_UP_SETTLE_SECONDS = float(os.environ.get("LIVE_CATCH_UP_SETTLE_SECONDS", "10"))
# Chat presence: each server process renews its liveness and re-asserts its members this
# often; a process silent for 3 of these (consumers.presence.PRESENCE_STALE_PERIODS: a
# crash) drops out, its members with it.
LIVE_PRESENCE_HEARTBEAT_SECONDS = float(os.environ.get("LIVE_PRESENCE_HEARTBEAT_SECONDS", "15"))
# Presence changes in a room are announced together, at most one frame per this interval.
LIVE_PRESENCE_COALESCE_SECONDS = float(os.environ.get("LIVE_PRESENCE_COALESCE_SECONDS", "0.5"))
# A socket whose reader leaves more than this many bytes unsent is dropped (close 4008).
LIVE_SEND_BUFFER_BYTES = int(os.environ.get("LIVE_SEND_BUFFER_BYTES", str(1024 * 1024)))

# --- tracker ---
# Announce timing: clients are told INTERVAL (+ up to JITTER seconds, spreading the herd
# after an outage); a peer silent for two intervals is stale.
TRACKER_ANNOUNCE_INTERVAL = int(os.environ.get("TRACKER_ANNOUNCE_INTERVAL", "1800"))
TRACKER_INTERVAL_JITTER = int(os.environ.get("TRACKER_INTERVAL_JITTER", "120"))
TRACKER_MIN_INTERVAL = int(os.environ.get("TRACKER_MIN_INTERVAL", "300"))
TRACKER_NUMWANT_DEFAULT = int(os.environ.get("TRACKER_NUMWANT_DEFAULT", "50"))
TRACKER_NUMWANT_MAX = int(os.environ.get("TRACKER_NUMWANT_MAX", "100"))
TRACKER_SCRAPE_MAX = int(os.environ.get("TRACKER_SCRAPE_MAX", "100"))
# Announce and scrape query strings longer than this are refused unparsed (a scrape of
# TRACKER_SCRAPE_MAX hashes, every byte percent-encoded, is about 7,100).
TRACKER_QUERY_MAX_BYTES = int(os.environ.get("TRACKER_QUERY_MAX_BYTES", "8192"))
# Distinct unknown passkeys one address may try per window before the tracker stops
# looking them up (each costs a database read): announce/limits.py.
TRACKER_UNKNOWN_PASSKEYS_PER_IP = int(os.environ.get("TRACKER_UNKNOWN_PASSKEYS_PER_IP", "20"))
TRACKER_UNKNOWN_PASSKEY_WINDOW = int(os.environ.get("TRACKER_UNKNOWN_PASSKEY_WINDOW", "600"))
# /metrics (Prometheus; domain/metrics.py): from these addresses/CIDRs, or from anywhere
# with "Authorization: Bearer <METRICS_TOKEN>" when a token is set.
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Reverse proxies (CIDRs) whose X-Forwarded-For is believed: one list for pages, sockets
# and announces (server/proxy.py, announce/parse.py); none by default.
# The environment's older name, TRACKER_TRUSTED_PROXIES, is still read when the new one is
# unset; the code reads only settings.TRUSTED_PROXIES.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", os.environ.get("TRACKER_TRUSTED_PROXIES", ""))
# Site-wide freeleech (also switchable live: domain.tracker.cache.global_freeleech_set).
TRACKER_FREELEECH = env_bool("TRACKER_FREELEECH", False)
TRACKER_REDIS_PREFIX = os.environ.get("TRACKER_REDIS_PREFIX", "trk")
# Lookup records in Redis (explicitly invalidated; 0: no expiry, invalidation alone keeps
# them current), unknown passkeys/hashes, IP ban answers, and each process's own copy
# (dropped as soon as an announce sees an invalidation).
TRACKER_CACHE_SECONDS = int(os.environ.get("TRACKER_CACHE_SECONDS", "0"))
TRACKER_NEGATIVE_CACHE_SECONDS = int(os.environ.get("TRACKER_NEGATIVE_CACHE_SECONDS", "30"))
TRACKER_IP_BAN_CACHE_SECONDS = int(os.environ.get("TRACKER_IP_BAN_CACHE_SECONDS", "300"))
TRACKER_LOCAL_CACHE_SECONDS = float(os.environ.get("TRACKER_LOCAL_CACHE_SECONDS", "300"))
# Cold start and misses (domain/tracker/cache.py, loaders.py): every record loaded in bulk
# at start and whenever Redis is found emptied (checked every WARM_CHECK seconds); misses
# read in batches of up to FILL_BATCH records on FILL_THREADS threads of the tracker's own
# (0: asgiref's thread-sensitive thread, for tests inside a transaction); at most
# NEGATIVE_CACHE_PER_IP unknown passkeys/hashes stored per address (IPv6: /64) per
# NEGATIVE_CACHE_SECONDS; each process keeps up to LOCAL_CACHE_MAX records of its own.
TRACKER_BULK_LOAD = env_bool("TRACKER_BULK_LOAD", True)
TRACKER_WARM_CHECK_SECONDS = float(os.environ.get("TRACKER_WARM_CHECK_SECONDS", "10"))
TRACKER_FILL_THREADS = int(os.environ.get("TRACKER_FILL_THREADS", "2"))
TRACKER_FILL_BATCH = int(os.environ.get("TRACKER_FILL_BATCH", "1000"))
TRACKER_NEGATIVE_CACHE_PER_IP = int(os.environ.get("TRACKER_NEGATIVE_CACHE_PER_IP", "64"))
TRACKER_LOCAL_CACHE_MAX = int(os.environ.get("TRACKER_LOCAL_CACHE_MAX", "500000"))
TRACKER_PEER_COUNTS_THROTTLE_MS = int(os.environ.get("TRACKER_PEER_COUNTS_THROTTLE_MS", "1000"))
# Flush of buffered announces to PostgreSQL, and the stale-peer reaper.
TRACKER_FLUSH_SECONDS = float(os.environ.get("TRACKER_FLUSH_SECONDS", "10"))
TRACKER_FLUSH_BATCH = int(os.environ.get("TRACKER_FLUSH_BATCH", "5000"))
TRACKER_REAP_SECONDS = float(os.environ.get("TRACKER_REAP_SECONDS", "3600"))

# --- API (frontend/api) ---
# Requests per window per address and per API key; past them, HTTP 429 with Retry-After.
API_RATE_WINDOW_SECONDS = int(os.environ.get("API_RATE_WINDOW_SECONDS", "60"))
API_RATE_PER_IP = int(os.environ.get("API_RATE_PER_IP", "240"))
API_RATE_PER_KEY = int(os.environ.get("API_RATE_PER_KEY", "120"))
# .torrent downloads per key per window (a leaked key cannot empty the catalog at once).
API_DOWNLOADS_PER_KEY = int(os.environ.get("API_DOWNLOADS_PER_KEY", "60"))
# The JSON API's Swagger UI is served from django-ninja's own static files (no CDN).
INSTALLED_APPS.append("ninja")

# Moderation (domain.moderation): warnings that ran out stop counting within this period;
# a member files at most REPORTS_PER_HOUR reports an hour.
WARNINGS_EXPIRE_SECONDS = int(os.environ.get("WARNINGS_EXPIRE_SECONDS", "60"))
REPORTS_PER_HOUR = int(os.environ.get("REPORTS_PER_HOUR", "20"))

# --- hit-and-run and ratio watch (domain/tracker/hnr.py, domain/tracker/ratiowatch.py) ---
# A download is settled by HNR_SEED_HOURS of seed time or a ratio of HNR_RATIO on that
# torrent (raw bytes); downloads under HNR_MIN_DOWNLOAD_PERCENT of the size are not counted.
# After HNR_GRACE_HOURS from completion (and HNR_PREWARN_NOTICE_HOURS after the pre-warning)
# a download not being seeded and not settled is a hit-and-run, warned for with
# HNR_WARNING_POINTS expiring after HNR_WARNING_DAYS. HNR_MAX_ACTIVE active hit-and-runs
# switch downloads off in the tracker. HNR_FREELEECH_EXEMPT: judge the 10% by credited
# (charged) bytes, so freeleech downloads owe nothing; off by default (see the note).
HNR_SEED_HOURS = float(os.environ.get("HNR_SEED_HOURS", "72"))
HNR_RATIO = float(os.environ.get("HNR_RATIO", "1.0"))
HNR_MIN_DOWNLOAD_PERCENT = float(os.environ.get("HNR_MIN_DOWNLOAD_PERCENT", "10"))
HNR_GRACE_HOURS = float(os.environ.get("HNR_GRACE_HOURS", "72"))
HNR_PREWARN_NOTICE_HOURS = float(os.environ.get("HNR_PREWARN_NOTICE_HOURS", "24"))
HNR_MAX_ACTIVE = int(os.environ.get("HNR_MAX_ACTIVE", "3"))
HNR_WARNING_POINTS = int(os.environ.get("HNR_WARNING_POINTS", "1"))
HNR_WARNING_DAYS = int(os.environ.get("HNR_WARNING_DAYS", "14"))
HNR_FREELEECH_EXEMPT = env_bool("HNR_FREELEECH_EXEMPT", False)
# Classes (group names) never judged; staff groups (is_staff) are immune as well.
HNR_IMMUNE_GROUPS = env_list("HNR_IMMUNE_GROUPS", "vip")
HNR_CHECK_SECONDS = float(os.environ.get("HNR_CHECK_SECONDS", "300"))
# Ratio watch (Gazelle): (downloaded at least GiB, required ratio when seeding everything
# snatched, required ratio when seeding nothing); the required ratio falls linearly with
# the share of snatches still seeded. Members in groups granting Perm.IMMUNE_RATIO are exempt.
RATIO_WATCH_TABLE: list[tuple[float, float, float]] = [
    (0, 0.0, 0.0), (5, 0.0, 0.15), (10, 0.0, 0.20), (20, 0.05, 0.30), (30, 0.10, 0.40),
    (40, 0.20, 0.50), (50, 0.30, 0.60), (60, 0.40, 0.60), (80, 0.50, 0.60),
    (100, 0.60, 0.60)]
RATIO_WATCH_DAYS = float(os.environ.get("RATIO_WATCH_DAYS", "14"))
RATIO_WATCH_CHECK_SECONDS = float(os.environ.get("RATIO_WATCH_CHECK_SECONDS", "3600"))

# --- tracker accounting (domain/tracker/swarm.py, flush.py) ---
# Hostile members: an announce is credited at most MAX_RATE bytes/s since the peer's last
# announce (default 10 Gbit/s) and a download of at most MAX_DOWNLOAD_FACTOR times the
# torrent's size; the rest is refused, recorded and flagged for staff (flush.py).
TRACKER_MAX_RATE = int(os.environ.get("TRACKER_MAX_RATE", "1250000000"))
TRACKER_MAX_DOWNLOAD_FACTOR = float(os.environ.get("TRACKER_MAX_DOWNLOAD_FACTOR", "3"))
# The tracker's own Redis (swarm, buffer, lookup cache): persistent and never evicting, apart
# from cache and channels; `make run` starts one (server/launcher.py). Empty: REDIS_URL. A
# batch is written to PostgreSQL only FLUSH_DURABLE_SECONDS after it was taken, once Redis
# has it on disk (0 turns the wait off, for a Redis without persistence).
TRACKER_REDIS_URL = os.environ.get("TRACKER_REDIS_URL", "")
TRACKER_FLUSH_DURABLE_SECONDS = float(os.environ.get("TRACKER_FLUSH_DURABLE_SECONDS", "2"))

# The warning banner on every page (frontend.moderation).
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
    "frontend.moderation.context.warning_banner")
