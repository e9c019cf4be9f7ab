"""Files resources."""
