"""Network resources."""
