"""Industry working groups: which brands belong, who coordinates, requests to join."""
