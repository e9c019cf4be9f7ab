"""Version of the distribution; the single source hatch and `nox -s release` read and write."""

__version__ = "0.2.2"
