"""A mod_xml_curl endpoint: FreeSWITCH fetches its dialplan, directory and IVR menus live from
the center's templates, as an alternative to pushing files (``callcenter xmlcurl``).

``documents.py`` cuts the rendered files into what a fetch asks for, ``live.py`` keeps the
current render (and reloads it), ``server.py`` is the aiohttp side (basic auth, size limit,
health check).
"""

from callcenter.xmlcurl.documents import NOT_FOUND, RenderedConfig
from callcenter.xmlcurl.fetch import FetchError, FetchRequest, parse_fetch
from callcenter.xmlcurl.live import LiveConfig, render_config
from callcenter.xmlcurl.server import FETCH_PATH, HEALTH_PATH, XmlCurlServer, make_app, serve

__all__ = [
    "FETCH_PATH",
    "HEALTH_PATH",
    "NOT_FOUND",
    "FetchError",
    "FetchRequest",
    "LiveConfig",
    "RenderedConfig",
    "XmlCurlServer",
    "make_app",
    "parse_fetch",
    "render_config",
    "serve",
]
