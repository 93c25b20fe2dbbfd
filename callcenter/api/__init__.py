"""The HTTP API (aiohttp): resources over the center's services, sessions and API tokens, JSON
errors, the OpenAPI document. Served by ``callcenter run`` and ``callcenter demo``."""
