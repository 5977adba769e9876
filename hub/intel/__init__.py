"""Shared intelligence boards: reports, indicators, evidence, comments and sightings."""
