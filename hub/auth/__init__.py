"""Signing in: per-brand OpenID Connect, server-side sessions, the development provider."""
