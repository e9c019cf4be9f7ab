"""Streams resources."""
