"""Helpers for the tests: small strategies and run functions that misbehave on purpose."""
