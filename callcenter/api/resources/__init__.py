"""One module per resource; each fills a ``RouteTable`` that ``callcenter.api.app`` mounts."""
