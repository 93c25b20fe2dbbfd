"""The ``api`` commands of the simulated switch (mod_commands replies, exact texts).

Besides FreeSWITCH's own commands, a few ``sim_*`` commands script the endpoints from any ESL
client (``callcenter esl "sim_call 74951112233 4951234567 Ivan"``); a real FreeSWITCH answers
them with ``-ERR sim_call Command not found!``:

- ``sim_call <destination> [caller_number] [caller_name] [gateway] [hangup_after_s]``
  -> ``+OK <uuid>``
  (an inbound PSTN call into the ``public`` context; ``_`` keeps a default, caller name may not
  contain spaces here)
- ``sim_phone <ext>@<domain> answer <delay_s> [<talk_s>]|reject <cause>|noanswer|unregister``
  (registers the phone if needed; ``talk_s``: the agent hangs up that long after answering)
  -> ``+OK <ext>@<domain> <mode>``
- ``sim_phone <ext>@<domain> hangup [cause]`` (the agent hangs up whatever the phone has)
  -> ``+OK <n> hung up``
- ``sim_phones`` -> one line per registered phone: ``<ext>@<domain> <mode> calls=<n> live=<n>``,
  then ``<N> total.``
- ``sim_far_end <number>|default answer <delay_s> [<talk_s>]|reject <cause>|noanswer`` (what
  answers ``sofia/gateway/<gw>/<number>``), ``sim_gateway <name> up|down`` (a down gateway
  fails originate with GATEWAY_DOWN)
- ``sim_dtmf <uuid> <digits>`` (the caller presses keys), ``sim_hangup <uuid> [cause]``
  (the far end hangs up)
- ``sim_eavesdrops`` -> one line per channel running ``eavesdrop``/``three_way``:
  ``<spy uuid> <target uuid> mode=listen|whisper-aleg|whisper-bleg|both hears=aleg,bleg
  dtmf=true|false``, then ``<N> total.`` (see ``callcenter.sim.spy``)

FreeSWITCH commands for a node's configuration: ``reloadxml`` (``+OK [Success]``, or
``+OK [<error>]`` keeping the previous configuration), ``sofia profile <name> rescan
[reloadxml]`` (starts gateways added to the XML), ``sofia profile <name> killgw <gw>|_all_``,
``limit_usage <backend> <realm> <resource>`` (the ``limit`` application's count), ``db
insert|delete|select|exists/<realm>/<key>[/<value>]`` (mod_db, in memory).

Variable expansion runs api commands too (``${db(select/realm/key)}``): ``call_now`` runs one
that answers without waiting (every command here but originate, uuid_bridge and the like).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from callcenter.sim.causes import normalize_cause
from callcenter.sim.channel import Channel, PrivateCommand
from callcenter.sim.endpoints import Answering, Phone, lookup_phone
from callcenter.sim.originate import emit_dtmf, originate

if TYPE_CHECKING:
    from callcenter.sim.listener import Listener
    from callcenter.sim.server import SimSwitch

__all__ = ["ApiCommands"]

log = logging.getLogger("callcenter.sim")

VERSION = "1.10.12-release~64bit"
ORIGINATE_USAGE = (
    "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] "
    "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
)
SHOW_USAGE = (
    "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels "
    "[count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|"
    "aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|"
    "limits|status\n"
)
SIM_CALL_USAGE = (
    "-USAGE: sim_call <destination> [caller_number] [caller_name] [gateway] [hangup_after_s]\n"
)
SHOW_CALLS_COLUMNS = [
    "uuid",
    "direction",
    "created",
    "created_epoch",
    "name",
    "state",
    "cid_name",
    "cid_num",
    "ip_addr",
    "dest",
    "presence_id",
    "presence_data",
    "accountcode",
    "callstate",
    "callee_name",
    "callee_num",
    "callee_direction",
    "call_uuid",
    "hostname",
    "sent_callee_name",
    "sent_callee_num",
    "b_uuid",
    "b_direction",
    "b_created",
    "b_created_epoch",
    "b_name",
    "b_state",
    "b_cid_name",
    "b_cid_num",
    "b_ip_addr",
    "b_dest",
    "b_presence_id",
    "b_presence_data",
    "b_accountcode",
    "b_callstate",
    "b_callee_name",
    "b_callee_num",
    "b_callee_direction",
    "b_sent_callee_name",
    "b_sent_callee_num",
    "call_created_epoch",
]
REGISTRATION_COLUMNS = [
    "reg_user", "realm", "token", "url", "expires", "network_ip", "network_port",
    "network_proto", "hostname", "metadata",
]  # fmt: skip
CALLCENTER_QUEUE_HEADER = (
    "name|strategy|moh_sound|time_base_score|tier_rules_apply|tier_rule_wait_second|"
    "tier_rule_wait_multiply_level|tier_rule_no_agent_no_wait|discard_abandoned_after|"
    "abandoned_resume_allowed|max_wait_time|max_wait_time_with_no_agent|"
    "max_wait_time_with_no_agent_time_reached|record_template|calls_answered|calls_abandoned|"
    "ring_progressively_delay|skip_agents_with_external_calls|agent_no_answer_status"
)
CALLCENTER_AGENT_HEADER = (
    "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|"
    "reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|"
    "last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|"
    "external_calls_count"
)

Handler = Callable[[str, "Listener | None"], Coroutine[Any, Any, str]]


def _script(behavior: Answering, words: list[str]) -> str | None:
    """Apply ``answer <delay> [<talk>]``, ``reject <cause>`` or ``noanswer``; None if invalid."""
    mode = words[0].lower() if words else ""
    if mode == "answer":
        try:
            delay = float(words[1]) if len(words) > 1 else 0.5
            talk = float(words[2]) if len(words) > 2 else None
        except ValueError:
            return None
        behavior.update(answer_after=delay, reject=None, hangup_after=talk)
    elif mode == "reject":
        cause = words[1] if len(words) > 1 else "CALL_REJECTED"
        behavior.update(reject=normalize_cause(cause, "CALL_REJECTED"))
    elif mode == "noanswer":
        behavior.update(answer_after=None, reject=None)
    else:
        return None
    return behavior.mode


def uptime_text(up: float) -> str:
    """``0 years, 0 days, 1 hour, ...``: the plural ``s`` dropped for 1 (status, HEARTBEAT)."""
    days, rest = divmod(int(up), 86400)
    years, days = divmod(days, 365)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    micro = int((up - int(up)) * 1_000_000)
    parts = [
        (years, "year"), (days, "day"), (hours, "hour"), (minutes, "minute"),
        (seconds, "second"), (micro // 1000, "millisecond"), (micro % 1000, "microsecond"),
    ]  # fmt: skip
    return ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in parts)


def _split_keeping_vars(text: str) -> list[str]:
    """Split on spaces, but not inside ``{...}``/``[...]`` variable blocks or quotes."""
    words: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    for ch in text.strip():
        if ch == "'" and depth:
            quoted = not quoted
        elif not quoted and ch in "{[<":
            depth += 1
        elif not quoted and ch in "}]>" and depth:
            depth -= 1
        if ch == " " and not depth and not quoted:
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        words.append("".join(current))
    return words


class ApiCommands:
    def __init__(self, switch: SimSwitch) -> None:
        self.switch = switch
        self.core = switch.core
        self.table: dict[str, Handler] = {
            "status": self._status,
            "version": self._version,
            "show": self._show,
            "global_getvar": self._global_getvar,
            "global_setvar": self._global_setvar,
            "eval": self._eval,
            "originate": self._originate,
            "uuid_kill": self._uuid_kill,
            "uuid_exists": self._uuid_exists,
            "uuid_getvar": self._uuid_getvar,
            "uuid_setvar": self._uuid_setvar,
            "uuid_answer": self._uuid_answer,
            "uuid_park": self._uuid_park,
            "uuid_bridge": self._uuid_bridge,
            "uuid_transfer": self._uuid_transfer,
            "uuid_broadcast": self._uuid_broadcast,
            "uuid_break": self._uuid_break,
            "uuid_record": self._uuid_record,
            "uuid_send_dtmf": self._uuid_send_dtmf,
            "uuid_hold": self._uuid_hold,
            "uuid_dump": self._uuid_dump,
            "reloadxml": self._reloadxml,
            "hupall": self._hupall,
            "sofia": self._sofia,
            "callcenter_config": self._callcenter_config,
            "sofia_contact": self._sofia_contact,
            "limit_usage": self._limit_usage,
            "db": self._db,
            "sim_call": self._sim_call,
            "sim_phone": self._sim_phone,
            "sim_phones": self._sim_phones,
            "sim_far_end": self._sim_far_end,
            "sim_gateway": self._sim_gateway,
            "sim_dtmf": self._sim_dtmf,
            "sim_hangup": self._sim_hangup,
            "sim_eavesdrops": self._sim_eavesdrops,
        }

    async def execute(self, line: str, listener: Listener | None = None) -> str:
        name, _, args = line.strip().partition(" ")
        handler = self.table.get(name.lower())
        if handler is None:
            return f"-ERR {name} Command not found!\n"
        # switch_api_execute creates the API event before running the command and fires it
        # after (cap 05: its Event-Sequence is older than the events the command caused).
        headers = [("API-Command", name)]
        if args.strip():
            headers.append(("API-Command-Argument", args.strip()))
        event = self.core.make_event("API", headers) if self._wanted("API") else None
        try:
            return await handler(args.strip(), listener)
        finally:
            if event is not None:
                self.core.fire(event)

    def call_now(self, name: str, args: str, channel: Channel | None = None) -> str | None:
        """An api run by a variable expansion (``${name(args)}``, switch_api_execute): its
        output, or None when there is no such command. The API event is fired as for any api.
        A command that has to wait (originate, uuid_bridge...) cannot run inside an expansion
        here: it gives None."""
        name = name.strip()
        handler = self.table.get(name.lower())
        if handler is None or name.lower().startswith("sim_"):
            return None
        headers = [("API-Command", name)]
        if args.strip():
            headers.append(("API-Command-Argument", args.strip()))
        event = self.core.make_event("API", headers) if self._wanted("API") else None
        coroutine = handler(args.strip(), None)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return str(done.value)
        except Exception:
            log.exception("sim_api_failed command=%s", name)
            return None
        else:
            coroutine.close()
            log.warning("sim_api_cannot_expand command=%s", name)
            return None
        finally:
            if event is not None:
                self.core.fire(event)

    def _wanted(self, name: str) -> bool:
        return any(listener.may_want(name) for listener in self.core.listeners)

    # -- core -----------------------------------------------------------------------------------

    async def _status(self, args: str, _listener: Listener | None) -> str:
        sessions = len(self.core.channels)
        peak = self.core.peak_sessions
        return (
            f"UP {uptime_text(time.time() - self.core.started)}\n"
            f"FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{self.core.sessions_since_startup} session(s) since startup\n"
            f"{sessions} session(s) - peak {peak}, last 5min {peak} \n"
            f"0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
            f"1000 session(s) max\n"
            f"min idle cpu 0.00/99.00\n"
            f"Current Stack Size/Max 240K/8192K\n"
        )

    async def _version(self, args: str, _listener: Listener | None) -> str:
        return f"FreeSWITCH Version {VERSION} ( 64bit)\n"

    async def _global_getvar(self, args: str, _listener: Listener | None) -> str:
        return self.core.global_vars.get(args.strip(), "")

    async def _global_setvar(self, args: str, _listener: Listener | None) -> str:
        name, _, value = args.partition("=")
        self.core.global_vars[name.strip()] = value
        return "+OK\n"

    async def _eval(self, args: str, _listener: Listener | None) -> str:
        return self.core.expand(None, args)

    async def _show(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        if not words:
            return SHOW_USAGE
        what = words[0].lower()
        rest = [w.lower() for w in words[1:]]
        if what == "channels":
            rows = [ch.show_row(self.core.identity.hostname) for ch in self.core.channels.values()]
            columns = list(rows[0]) if rows else []
        elif what in ("calls", "bridged_calls", "detailed_calls"):
            rows = self._call_rows()
            columns = SHOW_CALLS_COLUMNS
        elif what == "registrations":
            rows = [self._registration(p) for p in self.switch.phones.all()]
            columns = REGISTRATION_COLUMNS
        else:
            return f"-ERR {what} is not a supported show target\n"
        if "count" in rest:
            return f"\n{len(rows)} total.\n"
        if "as" in rest:
            fmt = rest[rest.index("as") + 1] if rest.index("as") + 1 < len(rest) else ""
            if fmt == "json":
                if not rows:
                    return '{"row_count": 0}\n'
                return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
            if fmt == "xml":
                if not rows:
                    return '<result row_count="0"/>\n'
                out = [f'<result row_count="{len(rows)}">']
                for i, row in enumerate(rows, 1):
                    out.append(f'  <row row_id="{i}">')
                    out += [f"    <{k}>{escape(v)}</{k}>" for k, v in row.items()]
                    out.append("  </row>")
                out.append("</result>\n")
                return "\n".join(out)
            if fmt == "delim":
                delim = words[words.index("delim") + 1] if "delim" in words[:-1] else ","
                return self._delimited(rows, columns, delim)
        return self._delimited(rows, columns, ",")

    @staticmethod
    def _delimited(rows: list[dict[str, str]], columns: list[str], delim: str) -> str:
        if not rows:
            return "\n0 total.\n"
        lines = [delim.join(columns)]
        lines += [delim.join(row.get(c, "") for c in columns) for row in rows]
        return "\n".join(lines) + f"\n\n{len(rows)} total.\n"

    def _registration(self, phone: Phone) -> dict[str, str]:
        """A row of ``show registrations`` (the core db registrations table)."""
        return {
            "reg_user": phone.extension,
            "realm": phone.domain,
            "token": f"{phone.extension}-{phone.domain}-sim",
            "url": f"sofia/internal/{self._contact(phone)}",
            "expires": str(int(self.core.started) + 3600),
            "network_ip": "127.0.0.1",
            "network_port": str(phone.port),
            "network_proto": "udp",
            "hostname": self.core.identity.hostname,
            "metadata": "",
        }

    @staticmethod
    def _contact(phone: Phone) -> str:
        return f"sip:{phone.extension}@127.0.0.1:{phone.port}"

    async def _sofia_contact(self, args: str, _listener: Listener | None) -> str:
        """``sofia_contact [profile/]<user>@<domain>``: where a registered phone is reached."""
        target = args.split()[0] if args.split() else ""
        user, _, domain = target.rpartition("/")[2].partition("@")
        phone = lookup_phone(self.core, user, domain or self.core.global_vars["domain"])
        if phone is None:
            return "error/user_not_registered"
        return f"sofia/internal/{self._contact(phone)}"

    def _call_rows(self) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        host = self.core.identity.hostname
        for ch in self.core.channels.values():
            if ch.other_uuid is None or ch.other_type != "originatee":
                continue
            b = self.core.channels.get(ch.other_uuid)
            if b is None:
                continue
            a_row = ch.show_row(host)
            b_row = b.show_row(host)
            row = {c: a_row.get(c, "") for c in SHOW_CALLS_COLUMNS if not c.startswith("b_")}
            row["hostname"] = host
            for c in SHOW_CALLS_COLUMNS:
                if c.startswith("b_"):
                    row[c] = b_row.get(c[2:], "")
            row["call_created_epoch"] = str(int(ch.bridged_us / 1_000_000))
            rows.append({c: row.get(c, "") for c in SHOW_CALLS_COLUMNS})
        return rows

    async def _originate(self, args: str, listener: Listener | None) -> str:
        words = _split_keeping_vars(args)
        if len(words) < 2:
            return ORIGINATE_USAGE
        url, target = words[0], words[1]
        if target.startswith("&") and not target.endswith(")"):
            # An app argument with spaces: "&playback(a b)".
            joined = " ".join(words[1:])
            end = joined.find(")")
            target = joined[: end + 1]
            words = [url, target, *joined[end + 1 :].split()]
        dialplan = words[2] if len(words) > 2 else "XML"
        context = words[3] if len(words) > 3 else "default"
        cid_name = words[4] if len(words) > 4 else None
        cid_num = words[5] if len(words) > 5 else None
        timeout = float(words[6]) if len(words) > 6 and words[6].isdigit() else None
        self.switch.log_to(
            listener,
            7,
            "Parsing global variables\n",
            "switch_ivr_originate.c",
            "switch_ivr_originate",
            2301,
        )
        result = await originate(
            self.core, url, target, dialplan, context, cid_name, cid_num, timeout
        )
        if result.ok:
            self.switch.log_to(
                listener,
                5,
                f"New Channel {url} [{result.uuid}]\n",
                "switch_channel.c",
                "switch_channel_set_name",
                1142,
                result.uuid,
            )
        return result.reply

    async def _uuid_kill(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        self.core.hangup(ch, normalize_cause(parts[1] if len(parts) > 1 else None))
        return "+OK\n"

    async def _uuid_exists(self, args: str, _listener: Listener | None) -> str:
        return "true" if self.core.find(args.split()[0] if args else "") else "false"

    async def _uuid_getvar(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        if len(parts) < 2:
            return "-ERR No variable specified\n"
        return ch.get_var(parts[1]) or "_undef_"

    async def _uuid_setvar(self, args: str, _listener: Listener | None) -> str:
        parts = args.split(None, 2)
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        if len(parts) < 2:
            return "-ERR No variable specified\n"
        ch.set_var(parts[1], parts[2] if len(parts) > 2 else None)
        return "+OK\n"

    async def _uuid_answer(self, args: str, _listener: Listener | None) -> str:
        ch = self.core.find(args.split()[0]) if args else None
        if ch is None:
            return "-ERROR\n"
        await self.core.answer(ch)
        return "+OK\n"

    async def _uuid_park(self, args: str, _listener: Listener | None) -> str:
        ch = self.core.find(args.split()[0]) if args else None
        if ch is None:
            return "-ERR No such channel!\n"
        self.core.transfer_to_app(ch, "park", "")
        return "+OK\n"

    async def _uuid_bridge(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> <other_uuid>\n"
        a, b = self.core.find(parts[0]), self.core.find(parts[1])
        if a is None or b is None or not a.is_up or not b.is_up:
            return "-ERR Invalid uuid\n"
        await self.core.bridge_by_api(a, b)
        return f"+OK {b.uuid}\n"

    async def _uuid_transfer(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        if not parts:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        ch = self.core.find(parts[0])
        if ch is None:
            return "-ERR No such channel!\n"
        rest = parts[1:]
        legs = [ch]
        if rest and rest[0] in ("-bleg", "-both"):
            other = self.core.find(ch.other_uuid or "")
            legs = (
                ([other] if other else [])
                if rest[0] == "-bleg"
                else [ch, *([other] if other else [])]
            )
            rest = rest[1:]
        if not rest:
            return "-ERR\n"
        context = rest[2] if len(rest) > 2 else ch.context
        for leg in legs:
            self.core.transfer(leg, rest[0], context)
        return "+OK\n"

    async def _uuid_broadcast(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None or len(parts) < 2:
            return "-ERR invalid uuid\n"
        path = parts[1]
        app, _, arg = path.partition("::")
        if not arg:
            app, arg = "playback", path
        # switch_ivr_broadcast queues the message as a COMMAND event with these headers (cap 05).
        headers = {
            "call-command": "execute",
            "execute-app-name": app,
            "execute-app-arg": arg,
            "event-lock": "true",
            "lead-frames": "5",
        }
        leg = parts[2].lower() if len(parts) > 2 else "aleg"
        other = self.core.find(ch.other_uuid) if ch.other_uuid else None
        targets: list[Channel | None] = {"bleg": [other], "both": [ch, other]}.get(leg, [ch])
        for target in targets:
            if target is not None:
                msg = PrivateCommand("execute", app, arg, headers=dict(headers))
                self.switch.queue_message(target, msg, None, event_name="COMMAND")
        return "+OK Message sent\n"

    async def _uuid_break(self, args: str, _listener: Listener | None) -> str:
        ch = self.core.find(args.split()[0]) if args else None
        if ch is None:
            return "-ERR No such channel!\n"
        if ch.extra.get("playing"):
            ch.extra["break"] = True
            self.core.poke(ch)
        return "+OK\n"

    async def _uuid_record(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR Cannot locate session!\n"
        if len(parts) < 3:
            return "-USAGE: <uuid> [start|stop|mask|unmask|pause|resume] <path> [<limit>]\n"
        action, path = parts[1].lower(), parts[2]
        if action == "start":
            limit = float(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
            self.core.start_recording(ch, path, limit)
            return "+OK Success\n"
        if action == "stop":
            if self.core.stop_recording(ch, path):
                return "+OK Success\n"
            return "-ERR Cannot stop record session!\n"
        if action in ("mask", "unmask", "pause", "resume"):
            return "+OK Success\n"
        return "-USAGE: <uuid> [start|stop|mask|unmask|pause|resume] <path> [<limit>]\n"

    async def _uuid_send_dtmf(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR Cannot locate session!\n"
        digits = parts[1] if len(parts) > 1 else ""
        # DTMF goes out of the channel: on a loopback pair it arrives on the other leg (cap 05);
        # towards a phone or a trunk it leaves the switch and raises no event here.
        peer = ch.extra.get("loopback_peer")
        if peer is not None:
            self.core.spawn(emit_dtmf(self.core, peer, digits.split("@")[0], "APP"))
        return f"+OK {ch.uuid} sent DTMF {digits}.\n"

    async def _uuid_hold(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        mode = "on"
        if parts and parts[0].lower() in ("off", "toggle"):
            mode, parts = parts[0].lower(), parts[1:]
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "+OK Success\n"  # FreeSWITCH says so for an unknown uuid too (cap 08)
        hold = not ch.held if mode == "toggle" else mode == "on"
        if hold != ch.held:
            ch.held = hold
            self.core.account_hold(ch, hold)
            self.core.fire_channel("CHANNEL_HOLD" if hold else "CHANNEL_UNHOLD", ch)
            self.core.set_call_state(ch, "HELD" if hold else "ACTIVE")
        return "+OK Success\n"

    async def _uuid_dump(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        event = self.core.make_event("CHANNEL_DATA")
        headers = event.headers + ch.basic_headers(None) + ch.variable_headers()
        fmt = parts[1].lower() if len(parts) > 1 else "plain"
        from callcenter.esl.serialize import serialize_json, serialize_plain, serialize_xml

        if fmt == "json":
            return serialize_json(headers).decode("utf-8")
        if fmt == "xml":
            return serialize_xml(headers).decode("utf-8")
        return serialize_plain(headers).decode("utf-8")

    async def _reloadxml(self, args: str, _listener: Listener | None) -> str:
        # reload_xml_function answers "+OK [%s]" with the error text, even when it failed.
        error = self.switch.reload_xml()
        return "+OK [Success]\n" if error is None else f"+OK [{error}]\n"

    async def _limit_usage(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        if len(words) < 3:
            return "-USAGE: <backend> <realm> <id>\n"
        return str(self.core.limits.get("/".join(words[:3]), 0))

    async def _db(self, args: str, _listener: Listener | None) -> str:
        from callcenter.sim.node_apps import db_command

        return db_command(self.core, args.strip())

    async def _hupall(self, args: str, _listener: Listener | None) -> str:
        cause = normalize_cause(args.split()[0] if args else "MANAGER_REQUEST", "MANAGER_REQUEST")
        for ch in list(self.core.channels.values()):
            self.core.hangup(ch, cause)
        return f"+OK hangup all channels with cause {cause}\n"

    async def _sofia(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        if words[:1] == ["profile"]:
            return await self._sofia_profile(words[1:])
        if not args.startswith("status"):
            return "-ERR Usage: sofia status|...\n"
        ip = self.core.identity.ipv4
        rule = "=" * 97
        lines = [
            "                     Name\t   Type\t                                      Data\tState",
            rule,
            f"{ip:>25}\t  alias\t{'internal':>42}\tALIASED",
            f"{'external':>25}\tprofile\t{'sip:mod_sofia@' + ip + ':5080':>42}\tRUNNING (0)",
            f"{'internal':>25}\tprofile\t{'sip:mod_sofia@' + ip + ':5060':>42}\tRUNNING (0)",
            rule,
            "2 profiles 1 alias",
            "",
        ]
        return "\n".join(lines)

    async def _sofia_profile(self, words: list[str]) -> str:
        """``sofia profile <name> rescan [reloadxml]`` and ``killgw <gateway>`` (mod_sofia's
        cmd_profile texts); other profile commands are not simulated."""
        name = words[0] if words else ""
        if name not in self.switch.profiles:
            return f"Invalid Profile [{name}]"
        command = words[1].lower() if len(words) > 1 else ""
        if command == "rescan":
            out = ""
            if len(words) > 2 and words[2].lower() == "reloadxml":
                error = self.switch.reload_xml()
                out = f"Reload XML [{error or 'Success'}]\n"
            self.switch.rescan_profile(name)
            return out + "+OK scan complete\n"
        if command == "killgw":
            if len(words) < 3:
                return "-ERR missing gw name\n"
            if words[2] == "_all_":
                for gateway in list((self.core.gateways or {}).values()):
                    if gateway.profile == name:
                        self.switch.kill_gateway(gateway.name)
                return "+OK every gateway marked for deletion.\n"
            if self.switch.kill_gateway(words[2]):
                return "+OK gateway marked for deletion.\n"
            return "-ERR no such gateway.\n"
        return f"-ERR sofia profile {name} {command}: not simulated\n"

    async def _callcenter_config(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        if words[:2] == ["queue", "list"] and len(words) == 2:
            return CALLCENTER_QUEUE_HEADER + "\n+OK\n"
        if words[:2] == ["agent", "list"]:
            return CALLCENTER_AGENT_HEADER + "\n+OK\n"
        if words[:2] == ["tier", "list"]:
            return "queue|agent|state|level|position\n+OK\n"
        if words[:3] == ["queue", "list", "members"]:
            return "+OK\n"
        if words[:2] == ["agent", "set"]:
            return "-ERR Agent not found!\n"
        return "-ERR Invalid!\n"

    # -- simulator controls ---------------------------------------------------------------------

    async def _sim_call(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        if not words:
            return SIM_CALL_USAGE

        def arg(i: int, default: str) -> str:
            return words[i] if len(words) > i and words[i] != "_" else default

        hangup_after = arg(4, "")
        call = await self.switch.callers.dial(
            words[0],
            caller_number=arg(1, "0000000000"),
            caller_name=arg(2, ""),
            gateway=arg(3, "pstn"),
            hangup_after=float(hangup_after) if hangup_after else None,
        )
        return f"+OK {call.uuid}\n"

    async def _sim_phone(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        usage = (
            "-USAGE: sim_phone <ext>@<domain> answer <delay_s>|reject <cause>|noanswer|unregister\n"
        )
        if len(words) < 2:
            return usage
        ext, _, domain = words[0].partition("@")
        domain = domain or "default"
        mode = words[1].lower()
        phones = self.switch.phones
        if mode == "unregister":
            return "+OK\n" if phones.unregister(ext, domain) else "-ERR not registered\n"
        if mode == "hangup":
            known = phones.get(ext, domain)
            if known is None:
                return "-ERR not registered\n"
            cause = normalize_cause(words[2] if len(words) > 2 else None)
            return f"+OK {known.hangup(cause)} hung up\n"
        phone = phones.get(ext, domain) or phones.register(ext, domain)
        done = _script(phone, words[1:])
        return f"+OK {phone.address} {phone.mode}\n" if done else usage

    async def _sim_phones(self, args: str, _listener: Listener | None) -> str:
        lines = [
            f"{p.address} {p.mode} calls={len(p.calls)} live={len(p.live_calls)}"
            for p in self.switch.phones.all()
        ]
        return "\n".join(lines) + f"\n{len(lines)} total.\n"

    async def _sim_far_end(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        usage = (
            "-USAGE: sim_far_end <number>|default answer <delay_s> [<talk_s>]|reject <cause>|"
            "noanswer\n"
        )
        if len(words) < 2:
            return usage
        far = self.switch.far_ends
        if words[0] == "default":
            behavior = far.default
        else:
            behavior = far.by_number.setdefault(words[0], Answering())
        done = _script(behavior, words[1:])
        return f"+OK {words[0]} {behavior.mode}\n" if done else usage

    async def _sim_gateway(self, args: str, _listener: Listener | None) -> str:
        words = args.split()
        if len(words) != 2 or words[1].lower() not in ("up", "down"):
            return "-USAGE: sim_gateway <name> up|down\n"
        if words[1].lower() == "down":
            self.switch.far_ends.down_gateways.add(words[0])
        else:
            self.switch.far_ends.down_gateways.discard(words[0])
        return f"+OK {words[0]} {words[1].lower()}\n"

    async def _sim_dtmf(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None or len(parts) < 2:
            return "-ERR No such channel!\n"
        self.core.spawn(emit_dtmf(self.core, ch, parts[1], "RTP"))
        return "+OK\n"

    async def _sim_hangup(self, args: str, _listener: Listener | None) -> str:
        parts = args.split()
        ch = self.core.find(parts[0]) if parts else None
        if ch is None:
            return "-ERR No such channel!\n"
        ch.variables["sip_hangup_disposition"] = "recv_bye"
        self.core.hangup(ch, normalize_cause(parts[1] if len(parts) > 1 else None))
        return "+OK\n"

    async def _sim_eavesdrops(self, args: str, _listener: Listener | None) -> str:
        from callcenter.sim.spy import eavesdrops_text

        return eavesdrops_text(self.core)
