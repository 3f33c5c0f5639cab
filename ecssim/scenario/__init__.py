"""Scenario files: YAML in, validated frozen dataclasses out, every error with its path."""
