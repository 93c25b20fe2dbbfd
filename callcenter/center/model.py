"""The center's configuration as typed objects: the field types and a tenant's entries.

Shape of a center (``Center`` and ``Tenant`` are in ``tenant.py``, time conditions in
``schedule.py``)::

    tenants:
      - name: acme                    # tenant id; its internal dialplan context has this name
        domain: acme.example.com      # SIP domain of its users
        users: [...]                  # User
        voicemail_boxes: [...]        # VoicemailBox
        ivr_menus: [...]              # IvrMenu
        time_conditions: [...]        # TimeCondition
        dids: [...]                   # Did
        gateways: [...]               # Gateway (trunks.py)
        outbound_routes: [...]        # OutboundRoute (trunks.py; rates: CSV files, rates.py)
        queues: [...]                 # the ACD's own entries (callcenter/acd/config.py)
        agents: [...]
        tiers: [...]
        retention: {recordings_days: 90, cdr_days: 730}   # Retention (tenant.py): the workers

Every string here reaches FreeSWITCH sooner or later (directory and dialplan XML, ESL
commands), so every one goes through ``one_line``. Characters such as ``<``, ``&``, quotes and
``${}`` are accepted as data: the templates escape them, and identifiers that FreeSWITCH would
interpret (names, numbers) are held to narrow patterns instead.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_serializer,
    model_validator,
)

from callcenter.center.errors import FieldPath, FieldProblems

__all__ = [
    "Destination",
    "DestinationKind",
    "Did",
    "Forwarding",
    "IvrMenu",
    "NoAnswerForwarding",
    "SwitchStr",
    "User",
    "VoicemailBox",
    "one_line",
]

# C0 control characters and DEL, except tab; CR and LF get a message of their own.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def one_line(value: Any) -> Any:
    """Refuse a string holding CR, LF or another control character (a tab is fine).

    Reusable as a ``BeforeValidator`` on any field whose value reaches the switch: an ESL
    command is one line, so a line break in a value would start a second command, and XML
    cannot carry most control characters at all. Run before the field's own checks so that
    this is the message the operator sees. Anything that is not a string passes through.
    """
    if isinstance(value, str):
        if "\r" in value or "\n" in value:
            raise ValueError(
                "line break (CR/LF) not allowed: the value reaches FreeSWITCH, "
                "where a command or variable is one line"
            )
        found = _CONTROL.search(value)
        if found:
            raise ValueError(f"control character U+{ord(found.group()):04X} not allowed")
    return value


def _int_as_text(value: Any) -> Any:
    # YAML reads `extension: 1001` as a number. The center's YAML loader keeps anything with a
    # leading 0 or + as text, so writing an int back as digits loses nothing.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def shaped(pattern: str, what: str) -> AfterValidator:
    """A validator: the whole value matches ``pattern``, else "'x' is not <what>"."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


_NAME = r"[A-Za-z0-9_.-]{1,64}"
_EXTENSION = r"[0-9]{2,10}"
_PHONE = r"\+?[0-9]{3,15}"
_BOX = r"[A-Za-z0-9_.-]{1,64}"
_QUEUE = r"[A-Za-z0-9_.@-]+"  # the ACD's own pattern for queue names

SwitchStr = Annotated[str, BeforeValidator(one_line)]
"""Text that reaches the switch: one line; anything else is data to be escaped."""
Name = Annotated[str, BeforeValidator(one_line), shaped(_NAME, "a name (letters, digits, _ . -)")]
Extension = Annotated[
    str,
    BeforeValidator(one_line),
    BeforeValidator(_int_as_text),
    shaped(_EXTENSION, "an extension number (2 to 10 digits)"),
]
PhoneNumber = Annotated[
    str,
    BeforeValidator(one_line),
    BeforeValidator(_int_as_text),
    shaped(_PHONE, "a phone number (3 to 15 digits, optional leading +)"),
]
DialPrefix = Annotated[
    str,
    BeforeValidator(one_line),
    BeforeValidator(_int_as_text),
    shaped(r"[0-9+*#]{0,16}", "a dial prefix (digits, +, * and #)"),
]
Host = Annotated[
    str,
    BeforeValidator(one_line),
    shaped(
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?",
        "a host name or address (optionally with :port)",
    ),
]
Secret = Annotated[str, BeforeValidator(one_line), BeforeValidator(_int_as_text)]
SoundPath = Annotated[str, BeforeValidator(one_line), Field(min_length=1)]
"""A sound file as FreeSWITCH plays it: relative to its sounds dir, or absolute."""
Regex = Annotated[str, BeforeValidator(one_line), Field(min_length=1), AfterValidator(_compiles)]
BoxId = Annotated[
    str,
    BeforeValidator(one_line),
    BeforeValidator(_int_as_text),
    shaped(_BOX, "a voicemail box id (letters, digits, _ . -)"),
]
Pin = Annotated[
    str,
    BeforeValidator(one_line),
    BeforeValidator(_int_as_text),
    shaped(r"[0-9]{4,10}", "a PIN (4 to 10 digits)"),
]
# Loosely checked: the mail server is the judge; this catches a missing @ or a pasted list.
Email = Annotated[
    str, BeforeValidator(one_line), shaped(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address")
]


class StrictModel(BaseModel):
    """Every entry of the center file: an unknown field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# Destinations ---------------------------------------------------------------------------


class DestinationKind(StrEnum):
    """What a destination's target names (always within the destination's own tenant)."""

    EXTENSION = "extension"  # a user, by extension number
    QUEUE = "queue"  # an ACD queue, by name
    VOICEMAIL = "voicemail"  # a voicemail box, by id
    IVR = "ivr"  # an IVR menu, by name
    EXTERNAL = "external"  # an outside number, dialed through the tenant's outbound routes
    TIME = "time"  # a time condition, by name: its open or closed destination
    HANGUP = "hangup"  # no target


_TARGETS: dict[DestinationKind, tuple[re.Pattern[str], str]] = {
    DestinationKind.EXTENSION: (re.compile(_EXTENSION), "an extension number"),
    DestinationKind.QUEUE: (re.compile(_QUEUE), "a queue name"),
    DestinationKind.VOICEMAIL: (re.compile(_BOX), "a voicemail box id"),
    DestinationKind.IVR: (re.compile(_NAME), "an IVR menu name"),
    DestinationKind.EXTERNAL: (re.compile(_PHONE), "a phone number (digits, optional +)"),
    DestinationKind.TIME: (re.compile(_NAME), "a time condition name"),
}


class Destination(BaseModel):
    """Where a call goes, written ``kind:target`` in the file (``queue:sales``, ``hangup``).

    That the target exists in the tenant is checked by the tenant (``checks.py``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DestinationKind
    target: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            one_line(value)
            kind, _, target = value.partition(":")
            if kind not in set(DestinationKind):
                kinds = ", ".join(k.value for k in DestinationKind)
                raise ValueError(
                    f"{value!r} is not a destination: write kind:target, kind one of {kinds}"
                )
            return {"kind": kind, "target": target}
        if isinstance(value, dict | Destination):
            return value
        raise ValueError("a destination is text such as 'queue:sales' or 'extension:1001'")

    @model_validator(mode="after")
    def _target_shape(self) -> Destination:
        if self.kind is DestinationKind.HANGUP:
            if self.target:
                raise ValueError("hangup takes no target")
            return self
        pattern, what = _TARGETS[self.kind]
        if not self.target:
            raise ValueError(f"{self.kind.value}: needs {what} after the colon")
        if not pattern.fullmatch(self.target):
            raise ValueError(f"{self.kind.value}:{self.target}: {self.target!r} is not {what}")
        return self

    def __str__(self) -> str:
        if self.kind is DestinationKind.HANGUP:
            return self.kind.value
        return f"{self.kind.value}:{self.target}"

    @model_serializer
    def _as_text(self) -> str:
        return str(self)


# Users and voicemail ----------------------------------------------------------------------


class NoAnswerForwarding(StrictModel):
    """Forward a call the user does not answer within ``after_seconds``."""

    destination: Destination
    after_seconds: int = Field(20, ge=1, le=600)


class Forwarding(StrictModel):
    """A user's call forwarding rules; each is optional.

    ``always``: every call goes there, the phone does not ring. ``busy``: the user is on a call
    (or rejects it). ``no_answer``: rings ``after_seconds`` unanswered. ``unreachable``: the
    phone is not registered.
    """

    always: Destination | None = None
    busy: Destination | None = None
    no_answer: NoAnswerForwarding | None = None
    unreachable: Destination | None = None


class User(StrictModel):
    """A SIP user (a phone) of the tenant: ``<extension>@<tenant domain>`` in the directory."""

    extension: Extension
    # SIP digest password. At least 8 characters: registrations are scanned for weak passwords
    # within minutes of a switch going online, and a taken phone means toll fraud.
    password: Secret = Field(min_length=8)
    display_name: SwitchStr = ""  # caller name shown on internal calls; free text
    voicemail: bool = False  # the user has a voicemail box whose id is the extension
    caller_id_number: PhoneNumber | None = None  # shown on outside calls (else the gateway's)
    forwarding: Forwarding = Forwarding()


class VoicemailBox(StrictModel):
    """A voicemail box (mod_voicemail): its PIN, optional e-mail of new messages and greeting.

    A user with ``voicemail: true`` has a box by their extension even without an entry here;
    an entry with that id gives it a PIN and an e-mail address.
    """

    id: BoxId
    pin: Pin
    email: Email | None = None
    greeting: SoundPath | None = None


# Incoming calls -----------------------------------------------------------------------------


class Did(StrictModel):
    """A number callers dial from outside; routed in the shared public context.

    ``label`` names the campaign or advert the number was published in (free text), so that
    statistics can say which advert brings calls.
    """

    number: PhoneNumber
    destination: Destination
    label: SwitchStr = ""


IvrDigits = Annotated[
    str,
    BeforeValidator(one_line),
    BeforeValidator(_int_as_text),
    shaped(r"[0-9*#]{1,20}", "IVR digits (0-9, * and #)"),
]


class IvrMenu(StrictModel):
    """An IVR menu (mod_ivr): plays ``greeting``, then the caller's digits pick an entry.

    After ``timeout_seconds`` without digits the menu repeats (``max_timeouts`` times), after
    a wrong entry it plays ``invalid_sound`` and repeats (``max_failures`` times); then the
    caller goes to ``timeout_destination`` / ``invalid_destination``, or hears ``exit_sound``
    and is hung up when those are not set. A nested menu is an entry ``ivr:<other menu>``.
    """

    name: Name
    greeting: SoundPath
    short_greeting: SoundPath | None = None  # played on repeats instead of the greeting
    invalid_sound: SoundPath = "ivr/ivr-that_was_an_invalid_entry.wav"
    exit_sound: SoundPath = "voicemail/vm-goodbye.wav"
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    inter_digit_timeout_seconds: float = Field(2.0, gt=0, le=30)
    max_failures: int = Field(3, ge=1, le=20)
    max_timeouts: int = Field(3, ge=1, le=20)
    digit_len: int = Field(1, ge=1, le=20)  # the most digits an entry may have
    entries: dict[IvrDigits, Destination] = Field(min_length=1)
    timeout_destination: Destination | None = None
    invalid_destination: Destination | None = None

    @model_validator(mode="after")
    def _entries_fit_digit_len(self) -> IvrMenu:
        problems: list[tuple[FieldPath, str]] = [
            (("entries", digits), f"{digits!r} has more digits than digit_len ({self.digit_len})")
            for digits in self.entries
            if len(digits) > self.digit_len
        ]
        if problems:
            raise FieldProblems(problems)
        return self
