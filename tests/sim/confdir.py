"""A small two-tenant node configuration folder, laid out as FreeSWITCH's vanilla conf, for the
simulated switch's tests (what the dialplan templates will push to a node).

acme (acme.example.com): DID 74951110000 -> office hours? -> IVR acme_main (1: queue 5000,
2: user 1001, 9: sub-menu, 0: exit) ; after hours -> voicemail of 1000. Users 1000-1002.
globex (globex.example.com): DIDs 7812555NNNN -> extension NNNN in context globex: respond
codes, limits on the trunks, bridges through gateways globex_a / globex_b with failover.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

__all__ = ["MONDAY_NOON", "SUNDAY_NOON", "write_conf"]

MONDAY_NOON = datetime(2026, 11, 23, 12, 0)
SUNDAY_NOON = datetime(2026, 11, 22, 12, 0)

FILES: dict[str, str] = {
    "vars.xml": """<include>
  <X-PRE-PROCESS cmd="set" data="acme_domain=acme.example.com"/>
</include>
""",
    # -- dialplan ---------------------------------------------------------------------------------
    "dialplan/public.xml": """<?xml version="1.0" encoding="utf-8"?>
<include>
  <context name="public">
    <X-PRE-PROCESS cmd="include" data="public/*.xml"/>
  </context>
</include>
""",
    "dialplan/public/10_acme.xml": """<include>
  <extension name="acme_did">
    <condition field="destination_number" expression="^(74951110000)$">
      <action application="set" data="tenant=acme"/>
      <action application="transfer" data="main XML acme"/>
    </condition>
  </extension>
</include>
""",
    "dialplan/public/20_globex.xml": """<include>
  <extension name="globex_did">
    <condition field="destination_number" expression="^7812555(\\d{3,4})$">
      <action application="set" data="tenant=globex"/>
      <action application="transfer" data="$1 XML globex"/>
    </condition>
  </extension>
</include>
""",
    "dialplan/acme.xml": """<include>
  <context name="acme">
    <X-PRE-PROCESS cmd="include" data="acme/*.xml"/>
  </context>
</include>
""",
    "dialplan/acme/00_main.xml": """<include>
  <extension name="main">
    <condition field="destination_number" expression="^main$"/>
    <condition wday="mon-fri" time-of-day="09:00-18:00">
      <action application="answer"/>
      <action application="ivr" data="acme_main"/>
      <action application="set" data="ivr_left=true"/>
      <action application="hangup" data="NORMAL_CLEARING"/>
      <anti-action application="transfer" data="closed XML acme"/>
    </condition>
  </extension>
  <extension name="closed">
    <condition field="destination_number" expression="^closed$">
      <action application="answer"/>
      <action application="playback" data="acme/closed.wav"/>
      <action application="voicemail" data="default acme.example.com 1000"/>
    </condition>
  </extension>
</include>
""",
    "dialplan/acme/10_targets.xml": """<include>
  <extension name="support_queue">
    <condition field="destination_number" expression="^5000$">
      <action application="answer"/>
      <action application="set" data="queue=support"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="users">
    <condition field="destination_number" expression="^(1\\d{3})$">
      <action application="set" data="continue_on_fail=true"/>
      <action application="bridge" data="user/$1@$${acme_domain}"/>
      <action application="voicemail" data="default $${acme_domain} $1"/>
    </condition>
  </extension>
</include>
""",
    # No X-PRE-PROCESS: the folder's files join the context named after it.
    "dialplan/globex/10_respond.xml": """<include>
  <extension name="respond">
    <condition field="destination_number" expression="^(404|480|503|603)$">
      <action application="respond" data="$1"/>
      <action application="set" data="not_reached=true"/>
    </condition>
  </extension>
  <extension name="busy">
    <condition field="destination_number" expression="^486$">
      <action application="respond" data="486 Busy Here"/>
    </condition>
  </extension>
</include>
""",
    "dialplan/globex/20_trunks.xml": """<include>
  <extension name="limited_transfer">
    <condition field="destination_number" expression="^8(\\d{3})$">
      <action application="limit" data="hash globex trunks 1"/>
      <action application="answer"/>
      <action application="bridge" data="sofia/gateway/globex_b/$1"/>
    </condition>
  </extension>
  <extension name="limit_exceeded">
    <condition field="destination_number" expression="^limit_exceeded$">
      <action application="set" data="limit_hit=true"/>
      <action application="respond" data="503"/>
    </condition>
  </extension>
  <extension name="limited_busy">
    <condition field="destination_number" expression="^7(\\d{3})$">
      <action application="limit" data="hash globex busy 1 !USER_BUSY"/>
      <action application="answer"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="failover">
    <condition field="destination_number" expression="^6(\\d{3})$">
      <action application="set" data="continue_on_fail=true"/>
      <action application="bridge"
              data="sofia/gateway/nonexistent/$1|sofia/gateway/globex_a/$1|sofia/gateway/globex_b/$1"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="all_fail">
    <condition field="destination_number" expression="^5(\\d{3})$">
      <action application="bridge" data="sofia/gateway/globex_a/$1|sofia/gateway/nonexistent/$1"/>
      <action application="set" data="not_reached=true"/>
    </condition>
  </extension>
  <extension name="ring_both">
    <condition field="destination_number" expression="^4(\\d{3})$">
      <action application="bridge" data="sofia/gateway/globex_a/$1,sofia/gateway/globex_b/$1"/>
    </condition>
  </extension>
</include>
""",
    # -- directory --------------------------------------------------------------------------------
    "directory/acme.xml": """<include>
  <domain name="$${acme_domain}">
    <params>
      <param name="dial-string" value="${sofia_contact(*/${dialed_user}@${dialed_domain})}"/>
    </params>
    <variables>
      <variable name="user_context" value="acme"/>
    </variables>
    <groups>
      <group name="default">
        <users>
          <X-PRE-PROCESS cmd="include" data="acme/*.xml"/>
        </users>
      </group>
    </groups>
  </domain>
</include>
""",
    "directory/acme/1000.xml": """<include>
  <user id="1000">
    <params><param name="password" value="s3cret"/></params>
    <variables>
      <variable name="effective_caller_id_name" value="Alice Acme"/>
      <variable name="effective_caller_id_number" value="1000"/>
    </variables>
  </user>
</include>
""",
    "directory/acme/1001.xml": """<include>
  <user id="1001" number-alias="201">
    <params><param name="password" value="s3cret"/></params>
    <variables><variable name="effective_caller_id_name" value="Bob Acme"/></variables>
  </user>
</include>
""",
    "directory/acme/1002.xml": """<include>
  <user id="1002">
    <params><param name="password" value="s3cret"/></params>
  </user>
</include>
""",
    # A domain folder without a domain document: its users belong to the folder's domain.
    "directory/globex.example.com/2000.xml": """<include>
  <user id="2000">
    <params><param name="password" value="pw"/></params>
    <variables><variable name="user_context" value="globex"/></variables>
  </user>
</include>
""",
    # -- ivr menus --------------------------------------------------------------------------------
    "ivr_menus/acme.xml": """<include>
  <menu name="acme_main" greet-long="acme/welcome.wav" greet-short="acme/menu.wav"
        invalid-sound="ivr/ivr-that_was_an_invalid_entry.wav" exit-sound="voicemail/vm-goodbye.wav"
        timeout="5000" inter-digit-timeout="2000" max-failures="3" max-timeouts="2" digit-len="1">
    <entry action="menu-exec-app" digits="1" param="transfer 5000 XML acme"/>
    <entry action="menu-exec-app" digits="2" param="transfer 1001 XML acme"/>
    <entry action="menu-play-sound" digits="3" param="acme/hours.wav"/>
    <entry action="menu-sub" digits="9" param="acme_sub"/>
    <entry action="menu-exit" digits="0"/>
  </menu>
  <menu name="acme_sub" greet-long="acme/sub.wav" invalid-sound="acme/sub_invalid.wav"
        timeout="5000" inter-digit-timeout="1000" max-failures="2" digit-len="4">
    <entry action="menu-exec-app" digits="/^(1\\d{3})$/" param="transfer $1 XML acme"/>
    <entry action="menu-back" digits="*"/>
    <entry action="menu-sub" digits="7" param="acme_deep"/>
  </menu>
  <menu name="acme_deep" greet-long="acme/deep.wav" timeout="5000" digit-len="1">
    <entry action="menu-top" digits="8"/>
    <entry action="menu-exit" digits="0"/>
  </menu>
</include>
""",
    # -- sofia profiles and gateways --------------------------------------------------------------
    "sip_profiles/external.xml": """<profile name="external">
  <gateways>
    <X-PRE-PROCESS cmd="include" data="external/*.xml"/>
  </gateways>
  <settings><param name="sip-port" value="5080"/></settings>
</profile>
""",
    "sip_profiles/external/globex.xml": """<include>
  <gateway name="globex_a">
    <param name="proxy" value="sip-a.globex.example"/>
    <param name="register" value="false"/>
  </gateway>
  <gateway name="globex_b">
    <param name="proxy" value="sip-b.globex.example"/>
    <param name="register" value="false"/>
  </gateway>
</include>
""",
}


def write_conf(root: Path) -> Path:
    """Write the folder under ``root``; returns it."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
