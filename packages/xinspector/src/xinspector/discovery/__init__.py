"""Schema discovery: SQL catalogs, MongoDB samples, files, REST responses and stream messages."""
