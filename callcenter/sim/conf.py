"""A node's configuration folder, laid out as FreeSWITCH's vanilla ``conf``.

    DIR/vars.xml                                             ``X-PRE-PROCESS set`` variables
    DIR/dialplan/*.xml, DIR/dialplan/<context>/*.xml        contexts and extensions
    DIR/directory/*.xml, DIR/directory/<domain>/*.xml        domains and their users
    DIR/ivr_menus/*.xml (or autoload_configs/ivr.conf.xml)   ``<menu>`` definitions (mod_ivr)
    DIR/sip_profiles/*.xml, DIR/sip_profiles/<profile>/*.xml gateways of the sofia profiles

``<X-PRE-PROCESS cmd="include">`` and ``$${var}`` work as in FreeSWITCH (see ``preprocess``);
files in a sub-folder that no file includes are loaded on their own and belong to the context,
domain or profile the folder is named after. A folder that is missing leaves that part
unconfigured (``directory`` None: any registered phone answers ``user/...``; ``gateways``
None: any gateway name is accepted), so a switch without a configuration folder behaves as
before.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.sim.dialplan import DEFAULT_DIALPLAN, Dialplan, DialplanError
from callcenter.sim.preprocess import XmlFileError, parse_file, read_xml

__all__ = [
    "ConfError",
    "Directory",
    "Gateway",
    "IvrMenu",
    "MenuEntry",
    "NodeConfig",
    "User",
    "load_node_config",
]

log = logging.getLogger("callcenter.sim")

MENU_ACTIONS = frozenset(
    {"menu-exit", "menu-sub", "menu-exec-app", "menu-play-sound", "menu-back", "menu-top"}
)


class ConfError(DialplanError):
    """The configuration folder cannot be used (the message names the file and the problem)."""


@dataclass(frozen=True)
class User:
    """A directory user: ``<user id=>`` with its ``<params>`` and ``<variables>`` (the domain's
    merged under the user's own, as switch_xml_locate_user_merged does)."""

    id: str
    domain: str
    params: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    number_alias: str = ""


@dataclass
class Directory:
    domains: dict[str, dict[str, User]] = field(default_factory=dict)

    def find(self, user: str, domain: str) -> User | None:
        """The user by id (or number-alias) in a domain; None if either is unknown."""
        users = self.domains.get(domain)
        if users is None:
            return None
        found = users.get(user)
        if found is None:
            found = next((u for u in users.values() if u.number_alias == user), None)
        return found


@dataclass(frozen=True)
class MenuEntry:
    """``<entry action= digits= param=>``; ``digits="/regex/"`` matches by regex (``$1``...
    in ``param`` are its captures)."""

    action: str
    digits: str
    param: str = ""

    def match(self, pressed: str) -> str | None:
        """The entry's param (captures substituted) when ``pressed`` selects it, else None."""
        if len(self.digits) > 1 and self.digits.startswith("/") and self.digits.endswith("/"):
            try:
                found = re.search(self.digits[1:-1], pressed)
            except re.error:
                return None
            if found is None:
                return None
            groups = found.groups()

            def capture(m: re.Match[str]) -> str:
                index = int(m.group(1)) - 1
                return (groups[index] or "") if 0 <= index < len(groups) else ""

            return re.sub(r"\$(\d)", capture, self.param)
        return self.param if pressed == self.digits else None


@dataclass(frozen=True)
class IvrMenu:
    """An ivr.conf ``<menu>``; times in seconds (the XML gives milliseconds).

    Defaults as switch_ivr_menu_init sets them: timeout 10 s, inter-digit timeout half of it,
    3 failures, 3 timeouts, one digit."""

    name: str
    greet_long: str = ""
    greet_short: str = ""
    invalid_sound: str = ""
    exit_sound: str = ""
    timeout: float = 10.0
    inter_digit_timeout: float = 5.0
    max_failures: int = 3
    max_timeouts: int = 3
    digit_len: int = 1
    exec_on_max_failures: str = ""
    exec_on_max_timeouts: str = ""
    entries: tuple[MenuEntry, ...] = ()


@dataclass(frozen=True)
class Gateway:
    """A sofia ``<gateway name=>`` and its ``<param>``s (proxy, register, username...)."""

    name: str
    profile: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class NodeConfig:
    dialplan: Dialplan
    directory: Directory | None = None
    menus: dict[str, IvrMenu] = field(default_factory=dict)
    gateways: dict[str, Gateway] | None = None
    profiles: set[str] = field(default_factory=set)
    # What ``<X-PRE-PROCESS cmd="set">`` defined (vars.xml...): global variables of the switch.
    variables: dict[str, str] = field(default_factory=dict)


def load_node_config(
    conf_dir: Path | None,
    dialplan_dir: Path | None = None,
    variables: Mapping[str, str] | None = None,
) -> NodeConfig:
    """Read the whole folder (and a separate dialplan folder, loaded after it); raise
    ``ConfError`` (a ``DialplanError``) naming the first file that cannot be used."""
    env: dict[str, str] = dict(variables or {})
    try:
        if conf_dir is not None and (conf_dir / "vars.xml").is_file():
            read_xml(conf_dir / "vars.xml", env, set())
        plan = Dialplan()
        if conf_dir is not None:
            plan.load_folder(conf_dir / "dialplan", env)
        if dialplan_dir is not None:
            plan.load_folder(dialplan_dir, env)
        plan.load_string(DEFAULT_DIALPLAN, "<built-in>")
        config = NodeConfig(plan)
        if conf_dir is not None:
            if (conf_dir / "directory").is_dir():
                config.directory = _directory(conf_dir / "directory", env)
            config.menus = _menus(conf_dir, env)
            if (conf_dir / "sip_profiles").is_dir():
                config.gateways, config.profiles = _gateways(conf_dir / "sip_profiles", env)
    except XmlFileError as exc:
        raise ConfError(str(exc)) from exc
    given = variables or {}
    config.variables = {k: v for k, v in env.items() if given.get(k) != v}
    return config


# -- reading the parts ----------------------------------------------------------------------------


def _documents(
    folder: Path, env: MutableMapping[str, str], extra: Iterable[Path] = ()
) -> list[tuple[ElementTree.Element, Path, str | None]]:
    """Every document of a folder: (root, file, the sub-folder's name or None for top files);
    files some earlier file included are skipped. ``extra`` files are read first."""
    used: set[Path] = set()
    found: list[tuple[ElementTree.Element, Path, str | None]] = []
    for file in extra:
        if file.is_file():
            found.append((parse_file(file, env, used), file, None))
    if not folder.is_dir():
        return found
    for file in sorted(p for p in folder.glob("*.xml") if p.is_file()):
        if file.resolve() not in used:
            found.append((parse_file(file, env, used), file, None))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for file in sorted(p for p in sub.rglob("*.xml") if p.is_file()):
            if file.resolve() not in used:
                found.append((parse_file(file, env, used), file, sub.name))
    return found


def _named(node: ElementTree.Element, tag: str) -> dict[str, str]:
    """``<params><param name= value=/>...`` (or variables) of one element, not its children's."""
    out: dict[str, str] = {}
    for holder in node.findall(f"{tag}s"):
        for item in holder.findall(tag):
            name = item.get("name")
            if name:
                out[name] = item.get("value", "")
    return out


def _directory(folder: Path, env: MutableMapping[str, str]) -> Directory:
    directory = Directory()

    def add_users(
        node: ElementTree.Element,
        domain: str,
        params: dict[str, str],
        variables: dict[str, str],
    ) -> None:
        users = directory.domains.setdefault(domain, {})
        for user in node.iter("user"):
            uid = user.get("id")
            if not uid or user.get("type") == "pointer" or uid in users:
                continue
            users[uid] = User(
                uid,
                domain,
                {**params, **_named(user, "param")},
                {**variables, **_named(user, "variable")},
                user.get("number-alias", ""),
            )

    for root, file, sub in _documents(folder, env):
        domains = list(root.iter("domain"))
        for dom in domains:
            name = dom.get("name")
            if not name:
                raise ConfError(f"{file}: <domain> without a name")
            add_users(dom, name, _named(dom, "param"), _named(dom, "variable"))
        if not domains and sub is not None:
            add_users(root, sub, {}, {})
    return directory


def _ms(text: str | None, default: float) -> float:
    value = (text or "").strip()
    return int(value) / 1000 if value.isdigit() and int(value) > 0 else default


def _count(text: str | None, default: int) -> int:
    value = (text or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


def _menus(conf_dir: Path, env: MutableMapping[str, str]) -> dict[str, IvrMenu]:
    menus: dict[str, IvrMenu] = {}
    ivr_conf = conf_dir / "autoload_configs" / "ivr.conf.xml"
    for root, file, _sub in _documents(conf_dir / "ivr_menus", env, extra=[ivr_conf]):
        for node in root.iter("menu"):
            name = node.get("name")
            if not name:
                raise ConfError(f"{file}: <menu> without a name")
            if name in menus:
                continue
            entries = []
            for entry in node.iter("entry"):
                action = entry.get("action", "")
                if action not in MENU_ACTIONS:
                    log.warning("sim_ivr_menu_bad_action menu=%s action=%s", name, action)
                    continue
                entries.append(MenuEntry(action, entry.get("digits", ""), entry.get("param", "")))
            timeout = _ms(node.get("timeout"), 10.0)
            menus[name] = IvrMenu(
                name=name,
                greet_long=node.get("greet-long", ""),
                greet_short=node.get("greet-short", ""),
                invalid_sound=node.get("invalid-sound", ""),
                exit_sound=node.get("exit-sound", ""),
                timeout=timeout,
                inter_digit_timeout=_ms(node.get("inter-digit-timeout"), timeout / 2),
                max_failures=_count(node.get("max-failures"), 3),
                max_timeouts=_count(node.get("max-timeouts"), 3),
                digit_len=_count(node.get("digit-len"), 1),
                exec_on_max_failures=node.get("exec-on-max-failures", ""),
                exec_on_max_timeouts=node.get("exec-on-max-timeouts", ""),
                entries=tuple(entries),
            )
    return menus


def _gateways(folder: Path, env: MutableMapping[str, str]) -> tuple[dict[str, Gateway], set[str]]:
    gateways: dict[str, Gateway] = {}
    profiles: set[str] = set()
    for root, file, sub in _documents(folder, env):
        found: list[tuple[ElementTree.Element, str]] = []
        named = list(root.iter("profile"))
        for profile in named:
            pname = profile.get("name")
            if not pname:
                raise ConfError(f"{file}: <profile> without a name")
            profiles.add(pname)
            found += [(g, pname) for g in profile.iter("gateway")]
        if not named and sub is not None:
            profiles.add(sub)
            found += [(g, sub) for g in root.iter("gateway")]
        for node, pname in found:
            name = node.get("name")
            if not name:
                raise ConfError(f"{file}: <gateway> without a name")
            if name in gateways:
                log.warning("sim_duplicate_gateway name=%s file=%s", name, file)  # sofia ignores it
                continue
            params = {p.get("name", ""): p.get("value", "") for p in node.iter("param")}
            gateways[name] = Gateway(name, pname, params)
    return gateways, profiles
