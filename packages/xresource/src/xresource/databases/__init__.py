"""Databases resources."""
