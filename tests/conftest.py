"""Shared fixtures: the Docker ones (a private engine, the Debian base, the cpu image) live in docker_fixtures."""

pytest_plugins = ["docker_fixtures"]
