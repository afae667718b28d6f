"""Browser, operating system and device type, from the User-Agent and client hints.

Parsing is cached: a site sees a few hundred distinct User-Agents a day, so nearly every
hit is a cache hit.  Only User-Agents of a real one's length are remembered, so a client
sending megabytes of header cannot make the cache hold them.  Only the derived names
leave this module, never the UA string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ua_parser

from samtycke.caching import bounded_cache
from samtycke.numbers import is_whole_number

DESKTOP = "Desktop"
MOBILE = "Mobile"
TABLET = "Tablet"
BOT = "Bot"
# Real User-Agents are a few hundred characters; ua-parser reads no further than this anyway.
MAX_CACHED_USER_AGENT = 1024


@dataclass(frozen=True)
class Device:
    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str  # Desktop, Mobile, Tablet or Bot

    @property
    def is_bot(self) -> bool:
        return self.device == BOT


def detect(user_agent: str, hints: Mapping[str, Any] | None = None) -> Device:
    device = parse_user_agent(user_agent)
    if hints:
        device = _with_hints(device, hints)
    return device


@bounded_cache(maxsize=8192, longest=MAX_CACHED_USER_AGENT)
def parse_user_agent(user_agent: str) -> Device:
    result = ua_parser.parse(user_agent[:MAX_CACHED_USER_AGENT])
    lowered = user_agent.lower()
    agent, system, hardware = result.user_agent, result.os, result.device
    browser = agent.family if agent else "Unknown"
    os_name = system.family if system else "Unknown"
    # ua-parser's maintained regexes report crawlers and monitoring tools as "Spider".
    if hardware and hardware.family == "Spider":
        kind = BOT
    elif "ipad" in lowered or "tablet" in lowered or (os_name == "Android" and "mobile" not in lowered):
        kind = TABLET
    elif "mobi" in lowered or os_name in ("iOS", "Android", "Windows Phone", "KaiOS"):
        kind = MOBILE
    else:
        kind = DESKTOP
    return Device(
        browser=browser if browser != "Other" else "Unknown",
        browser_version=_version(agent.major if agent else None, agent.minor if agent else None),
        os=os_name if os_name != "Other" else "Unknown",
        os_version=_version(system.major if system else None, system.minor if system else None),
        device=kind,
    )


def _with_hints(device: Device, hints: Mapping[str, Any]) -> Device:
    """Client hints (``uadata``) are more precise than the frozen UA string of Chromium."""
    platform = hints.get("platform")
    version = hints.get("platformVersion")
    mobile = hints.get("mobile")
    os_name, os_version = device.os, device.os_version
    if isinstance(platform, str) and platform and len(platform) < 40:
        os_name = {"macOS": "Mac OS X"}.get(platform, platform)
        if isinstance(version, str) and version and len(version) < 40:
            os_version = ".".join(version.split(".")[:2])
            if os_name == "Windows":
                # Windows 11 reports platformVersion 13 and up; 10 reports 1-12.
                major = version.split(".")[0]
                os_version = "11" if is_whole_number(major) and int(major) >= 13 else "10"
    kind = device.device
    if isinstance(mobile, bool) and kind != BOT:
        kind = MOBILE if mobile else (kind if kind == TABLET else DESKTOP)
    return Device(device.browser, device.browser_version, os_name, os_version, kind)


def _version(major: str | None, minor: str | None) -> str:
    if not major:
        return ""
    return f"{major}.{minor}" if minor else major
