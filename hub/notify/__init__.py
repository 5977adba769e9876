"""Notifications: what a person should know about, listed in the hub."""
