"""The gateway's settings, from NEUTONE_ environment variables like every service's."""

from pathlib import Path

from pydantic import Field, model_validator

from runtime.objectstore import ObjectStoreSettings
from runtime.settings import ServiceSettings

# The built browser app (`npm run build` in web/), beside this package in the repository.
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[1] / "web" / "dist"
# The services accept at most 8 MiB (runtime.server); browsers never need that much.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class GatewaySettings(ServiceSettings):
    # Where browsers reach the gateway (host:port); also where it listens unless
    # NEUTONE_LISTEN_ADDRESS says otherwise.
    gateway_address: str = "127.0.0.1:8080"
    # Origins allowed to make cookie-authenticated calls (and CORS requests), e.g.
    # '["https://neutone.example"]'. Empty: the gateway's own address, under its IP
    # and as localhost (development only; production must name its origins).
    allowed_origins: tuple[str, ...] = ()
    # Peers whose X-Forwarded-For is believed (the edge proxy): addresses or CIDRs,
    # comma-separated. The client is the rightmost address not in this list; with
    # "*" it is the leftmost, which a client can forge, so name the edge's network.
    trusted_proxies: str = "127.0.0.1"
    session_cookie_name: str = Field(default="neutone_session", pattern=r"^[A-Za-z0-9_-]+$")
    # Secure cookies (HTTPS only); unset means "outside development".
    session_cookie_secure: bool | None = None
    # Identity tokens are re-fetched this long before they expire.
    identity_refresh_margin_seconds: float = Field(default=30.0, ge=0)
    # Sessions whose identity tokens are kept in memory at once.
    identity_cache_size: int = Field(default=10_000, ge=1)
    # How long a reply to signed-out visitors (feed, categories, a published song)
    # is reused for the next ones (0: never), and how many such replies are kept.
    public_reply_seconds: float = Field(default=1.0, ge=0, le=60)
    public_reply_entries: int = Field(default=4096, ge=1)
    # How long a published song's page with its link-preview meta (/songs/<id>) is
    # reused, here and by caches (a rename shows in previews after this).
    song_preview_seconds: float = Field(default=60.0, ge=0, le=3600)
    # The longest a server stream (WatchSong) runs through the gateway, whatever
    # grpc-timeout the browser asks for; then it ends (DEADLINE_EXCEEDED) and the app
    # reconnects. Keep it above songsvc's NEUTONE_WATCH_MAX_SECONDS, which ends
    # streams cleanly first, and below the edge's stream timeout.
    stream_max_seconds: float = Field(default=900.0, gt=0, le=3600)
    # The largest request message accepted from a browser.
    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, ge=1024, le=8 * 1024 * 1024)
    # Payment webhooks larger than this are refused (billing's limit is 1 MiB).
    max_webhook_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024)
    # Uploads posted to the filesystem store (embedded mode) longer than this are
    # refused before they are read: songsvc allows 50 MB a file, plus the form.
    max_upload_bytes: int = Field(default=51 * 1024 * 1024, ge=1024)
    web_dir: Path = DEFAULT_WEB_DIR
    # Signed media URLs are served from this store when it is the filesystem one.
    object_store: ObjectStoreSettings = ObjectStoreSettings()

    @model_validator(mode="after")
    def _production_names_its_origins(self) -> "GatewaySettings":
        if self.is_production and not self.allowed_origins:
            raise ValueError("NEUTONE_ALLOWED_ORIGINS is required in production")
        return self

    @property
    def origins(self) -> tuple[str, ...]:
        if self.allowed_origins:
            return tuple(origin.rstrip("/") for origin in self.allowed_origins)
        port = self.gateway_address.rpartition(":")[2]
        return (f"http://{self.gateway_address}", f"http://localhost:{port}")

    @property
    def public_url(self) -> str:
        """Where people open the app (absolute links in link previews): the first
        allowed origin."""
        return self.origins[0]

    @property
    def secure_cookies(self) -> bool:
        if self.session_cookie_secure is None:
            return self.is_production
        return self.session_cookie_secure
