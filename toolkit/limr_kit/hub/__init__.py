"""The Hub side of limr-kit: a local Hub-compatible server and the shared client setup."""

from limr_kit.hub.server import HubServer, serve


__all__ = ["HubServer", "serve"]
