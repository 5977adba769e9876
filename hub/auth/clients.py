"""authlib OAuth clients, one per identity provider setting, rebuilt when the setting changes.

authlib caches a provider's metadata and keys inside the client object for as long as the
client lives, so a client is keyed by the provider's id *and* version: every change to the
settings bumps the version, and every worker process then builds a fresh client. Each
login start also builds a fresh one, reading the discovery document again: a provider that
went down (or moved its endpoints) is then reported on the hub's login page instead of
sending people to a dead page. The callback reuses that client and its keys.
"""

import threading

from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

from hub.auth.models import IdentityProvider
from hub.config import Settings
from hub.secretbox import open_sealed

SCOPE = "openid email profile"


class ProviderClients:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[int, tuple[int, StarletteOAuth2App]] = {}
        self._lock = threading.Lock()

    def get(self, provider: IdentityProvider, fresh: bool = False) -> StarletteOAuth2App:
        assert provider.id is not None
        with self._lock:
            cached = self._clients.get(provider.id)
            if not fresh and cached is not None and cached[0] == provider.version:
                return cached[1]
            client = self._build(
                provider, open_sealed(self._settings, provider.client_secret_sealed)
            )
            self._clients[provider.id] = (provider.version, client)
            return client

    @staticmethod
    def _build(provider: IdentityProvider, client_secret: str) -> StarletteOAuth2App:
        registry = OAuth()
        client: StarletteOAuth2App = registry.register(
            name=f"idp{provider.id}",
            client_id=provider.client_id,
            client_secret=client_secret,
            server_metadata_url=discovery_url(provider.issuer),
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
        return client


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"
