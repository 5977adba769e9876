"""The JSON API for brands' own tools (/api/v1), its tokens, and brand webhooks."""
