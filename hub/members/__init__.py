"""Brands (member organisations), their e-mail domains and their people."""
