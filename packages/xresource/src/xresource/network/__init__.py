"""Network resources: REST APIs over HTTP(S) (``RESTResource`` in :mod:`xresource.network.rest`,
imported on first use because it needs ``aiohttp``)."""
