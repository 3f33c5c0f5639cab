"""Placement: fit, constraints (cluster query language), strategies and their registry."""
