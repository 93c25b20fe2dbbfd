"""The web pages: sign-in, the agent desktop, the supervisor's wallboard and the admin's view.

Server-rendered page shells (``templates/``, Jinja2 with autoescape) that need a session and the
page's role; their data comes from the JSON API through small JavaScript modules (``static/``),
with nothing loaded from outside the server."""

from callcenter.web.pages import add_pages

__all__ = ["add_pages"]
