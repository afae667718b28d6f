"""The built-in banner texts in Swedish and English, and lifetimes in words.

Swedish follows what Swedish utilities write in their cookie banners: plain and formal.
Sites override the title and text (``[sites.notice]``) and category names and
descriptions (``[[sites.categories]]`` with a built-in id).
"""

from __future__ import annotations

from consent.registry import is_session, parse_lifetime

UI: dict[str, dict[str, str]] = {
    "sv": {
        "title": "Vi använder cookies",
        "description": (
            "{site} använder cookies och liknande tekniker. Nödvändiga cookies behövs för att "
            "webbplatsen ska fungera. Med ditt samtycke använder vi även cookies för "
            "inställningar, statistik och marknadsföring. Du väljer själv vilka du godkänner och "
            "kan när som helst ändra eller återkalla ditt samtycke under Cookieinställningar."
        ),
        "accept_all": "Acceptera alla",
        "reject_all": "Avvisa alla",
        "settings": "Inställningar",
        "save": "Spara val",
        "always_on": "Alltid på",
        "reopen": "Cookieinställningar",
        "allow": "Tillåt",
        "placeholder": "Innehållet kräver samtycke till {category}.",
        "close": "Stäng",
    },
    "en": {
        "title": "We use cookies",
        "description": (
            "{site} uses cookies and similar technologies. Necessary cookies are needed for the "
            "website to work. With your consent we also use cookies for preferences, statistics "
            "and marketing. You choose which ones you accept, and you can change or withdraw "
            "your consent at any time under Cookie settings."
        ),
        "accept_all": "Accept all",
        "reject_all": "Reject all",
        "settings": "Settings",
        "save": "Save choices",
        "always_on": "Always on",
        "reopen": "Cookie settings",
        "allow": "Allow",
        "placeholder": "This content needs consent to {category}.",
        "close": "Close",
    },
}

COOKIE_TABLE: dict[str, dict[str, str]] = {
    "sv": {
        "name": "Namn",
        "provider": "Leverantör",
        "purpose": "Syfte",
        "lifetime": "Lagringstid",
        "type": "Typ",
        "party": "Part",
        "session": "Sessionscookie",
        "persistent": "Permanent cookie",
        "first": "Förstapart",
        "third": "Tredjepart",
    },
    "en": {
        "name": "Name",
        "provider": "Provider",
        "purpose": "Purpose",
        "lifetime": "Lifetime",
        "type": "Type",
        "party": "Party",
        "session": "Session cookie",
        "persistent": "Persistent cookie",
        "first": "First party",
        "third": "Third party",
    },
}

CATEGORIES: dict[str, dict[str, tuple[str, str]]] = {
    "sv": {
        "necessary": (
            "Nödvändiga",
            "Nödvändiga cookies behövs för att webbplatsen ska fungera, till exempel för att komma "
            "ihåg dina cookieval och för inloggning. De kan inte väljas bort.",
        ),
        "preferences": (
            "Inställningar",
            "Cookies för inställningar gör att webbplatsen kommer ihåg dina val, till exempel språk.",
        ),
        "statistics": (
            "Statistik",
            "Statistikcookies hjälper oss att förstå hur webbplatsen används, så att vi kan "
            "förbättra den. Uppgifterna är anonyma.",
        ),
        "marketing": (
            "Marknadsföring",
            "Marknadsföringscookies används för att visa relevanta erbjudanden, även på andra "
            "webbplatser, och för att mäta resultatet av våra kampanjer.",
        ),
    },
    "en": {
        "necessary": (
            "Necessary",
            "Necessary cookies make the website work, for example by remembering your cookie "
            "choices and keeping you logged in. They cannot be switched off.",
        ),
        "preferences": (
            "Preferences",
            "Preference cookies let the website remember your choices, such as your language.",
        ),
        "statistics": (
            "Statistics",
            "Statistics cookies help us understand how the website is used so that we can "
            "improve it. The data is anonymous.",
        ),
        "marketing": (
            "Marketing",
            "Marketing cookies are used to show relevant offers, also on other websites, and to "
            "measure the results of our campaigns.",
        ),
    },
}

_UNITS_SV = {
    "second": ("sekund", "sekunder"),
    "minute": ("minut", "minuter"),
    "hour": ("timme", "timmar"),
    "day": ("dag", "dagar"),
    "week": ("vecka", "veckor"),
    "month": ("månad", "månader"),
    "year": ("år", "år"),
}


def lifetime_text(lifetime: str, lang: str) -> str:
    """ "13 months" in the visitor's language; text that is not "<n> <unit>" stays as written."""
    if is_session(lifetime):
        return "Sessionen" if lang == "sv" else "Session"
    parsed = parse_lifetime(lifetime)
    if lang != "sv" or parsed is None:
        return lifetime
    count, unit = parsed
    singular, plural = _UNITS_SV[unit]
    return f"{count} {singular if count == 1 else plural}"
