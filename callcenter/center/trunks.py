"""A tenant's way out: SIP trunks (sofia gateways) and the outbound routes that use them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from callcenter.center.errors import FieldPath, FieldProblems
from callcenter.center.model import (
    DialPrefix,
    Host,
    Name,
    Regex,
    Secret,
    StrictModel,
    SwitchStr,
    one_line,
    shaped,
)
from callcenter.center.rates import RateTable, load_rates

__all__ = ["Gateway", "OutboundRoute"]

# The gateway's own fields by their sofia parameter names: ``params`` may not set these again.
_SOFIA_FIELDS = {
    "proxy": "proxy",
    "username": "username",
    "password": "password",
    "register_": "register",
    "realm": "realm",
    "from_domain": "from-domain",
    "from_user": "from-user",
    "expire_seconds": "expire-seconds",
    "retry_seconds": "retry-seconds",
    "caller_id_in_from": "caller-id-in-from",
}
SofiaParamName = Annotated[
    str, BeforeValidator(one_line), shaped(r"[a-z0-9-]+", "a sofia parameter name (a-z, 0-9, -)")
]


class Gateway(StrictModel):
    """A SIP trunk (a sofia gateway). Fields are sofia's parameters of the same name.

    ``register``: register with the provider (sofia's default; needs username and password);
    false for a trunk authenticated by IP. ``params``: any other sofia gateway parameter, by its
    sofia name (``ping``, ``extension-in-contact``, ...). ``channels``: how many calls the trunk
    carries at once. ``strip_digits`` / ``add_prefix``: applied to the number last, after the
    outbound route's own (for a provider that wants, say, 8 instead of +7).
    """

    name: Name
    proxy: Host
    username: Secret = ""
    password: Secret = ""
    # (By another name in Python: BaseModel's metaclass has a ``register`` of its own.)
    register_: bool = Field(True, alias="register")
    realm: Host | None = None
    from_domain: Host | None = None
    from_user: SwitchStr | None = None
    expire_seconds: int = Field(3600, ge=60)
    retry_seconds: int = Field(30, ge=1)
    caller_id_in_from: bool = False
    params: dict[SofiaParamName, SwitchStr] = {}
    channels: int = Field(ge=1)
    strip_digits: int = Field(0, ge=0, le=15)
    add_prefix: DialPrefix = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Gateway:
        problems: list[tuple[FieldPath, str]] = []
        if self.register_:
            for field in ("username", "password"):
                if not getattr(self, field):
                    problems.append(((field,), "needed when register is true"))
        own = set(_SOFIA_FIELDS.values())
        for key in self.params:
            if key in own:
                field = next(f for f, p in _SOFIA_FIELDS.items() if p == key).rstrip("_")
                problems.append((("params", key), f"set it with the gateway's field {field!r}"))
        if problems:
            raise FieldProblems(problems)
        return self

    def sofia_params(self) -> dict[str, str]:
        """Every parameter of the gateway by its sofia name, as the gateway XML carries it."""
        params: dict[str, str] = {}
        for field, param in _SOFIA_FIELDS.items():
            value = getattr(self, field)
            if isinstance(value, bool):
                params[param] = "true" if value else "false"
            elif value not in (None, ""):
                params[param] = str(value)
        params.update(self.params)
        return params

    def dial_number(self, number: str) -> str:
        """The number as this gateway's provider wants it."""
        return self.add_prefix + number[self.strip_digits :]


def _rate_table(value: Any) -> RateTable:
    # The loader hands over a Path already relative to the YAML file; text given directly in
    # Python is relative to the working directory.
    if isinstance(value, RateTable):
        return value
    if isinstance(value, str) and value:
        one_line(value)
        return load_rates(Path(value))
    if isinstance(value, Path):
        return load_rates(value)
    raise ValueError("expected the path of a rates file (CSV: prefix,rate[,description])")


RateFile = Annotated[
    RateTable,
    PlainValidator(_rate_table),
    PlainSerializer(lambda table: str(table.source), return_type=str),
]


class OutboundRoute(StrictModel):
    """Calls to outside numbers matching ``pattern`` (a regular expression, searched in the
    dialed number as FreeSWITCH's ``expression`` is) go out through ``gateways``.

    A tenant's routes are tried in the file's order; the first whose pattern matches takes the
    call. ``strip_digits`` / ``prepend`` rewrite the number for every gateway of the route.
    Without ``rates`` the gateways are tried in the listed order (failover); with ``rates``
    (gateway name -> CSV file, relative to the YAML file) they are tried cheapest first for
    the dialed number (``rates.cheapest``), and every gateway of the route needs a rates file.
    """

    name: Name
    pattern: Regex
    gateways: list[Name] = Field(min_length=1)
    strip_digits: int = Field(0, ge=0, le=15)
    prepend: DialPrefix = ""
    rates: dict[Name, RateFile] = {}

    def matches(self, number: str) -> bool:
        return re.search(self.pattern, number) is not None

    def dial_number(self, number: str) -> str:
        """The number after this route's rewriting (a gateway may rewrite it again)."""
        return self.prepend + number[self.strip_digits :]
