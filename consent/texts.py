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
            "{controller} använder cookies och liknande tekniker. Nödvändiga cookies behövs för att "
            "webbplatsen ska fungera. Med ditt samtycke används även cookies för "
            "inställningar, statistik och marknadsföring. Du väljer själv vilka du godkänner och "
            "kan när som helst ändra eller återkalla ditt samtycke under Cookieinställningar."
        ),
        "third_parties": "Vissa cookies sätts av tredje parter: {providers}.",
        "accept_all": "Acceptera alla",
        "accept_gpc": "Acceptera alla utom {categories}",
        "reject_all": "Avvisa alla",
        "settings": "Anpassa",
        "save": "Spara val",
        "always_on": "Alltid på",
        "reopen": "Cookieinställningar",
        "allow": "Tillåt",
        "placeholder": "Innehållet kräver samtycke till {category}.",
        "close": "Stäng",
        "policy": "Integritetspolicy",
        "my_consents": "Mina samtycken",
        "cookie_list": "Alla cookies och tredje parter",
        "gpc": (
            "Din webbläsare skickar signalen Global Privacy Control. Därför används inga cookies "
            "för marknadsföring, om du inte själv väljer dem under Anpassa."
        ),
        "unsaved_retry": (
            "Ditt val kunde inte sparas. Vi försöker igen strax. Till dess används bara nödvändiga cookies."
        ),
        "unsaved": "Ditt val kunde inte sparas. Bara nödvändiga cookies används. Försök igen senare.",
    },
    "en": {
        "title": "We use cookies",
        "description": (
            "{controller} uses cookies and similar technologies. Necessary cookies are needed for the "
            "website to work. With your consent, cookies are also used for preferences, statistics "
            "and marketing. You choose which ones you accept, and you can change or withdraw "
            "your consent at any time under Cookie settings."
        ),
        "third_parties": "Some cookies are set by third parties: {providers}.",
        "accept_all": "Accept all",
        "accept_gpc": "Accept all except {categories}",
        "reject_all": "Reject all",
        "settings": "Customise",
        "save": "Save choices",
        "always_on": "Always on",
        "reopen": "Cookie settings",
        "allow": "Allow",
        "placeholder": "This content needs consent to {category}.",
        "close": "Close",
        "policy": "Privacy policy",
        "my_consents": "My consents",
        "cookie_list": "All cookies and third parties",
        "gpc": (
            "Your browser sends the Global Privacy Control signal, so no marketing cookies are "
            "used unless you choose them yourself under Customise."
        ),
        "unsaved_retry": (
            "Your choice could not be saved. We will try again shortly; until then only necessary "
            "cookies are used."
        ),
        "unsaved": "Your choice could not be saved. Only necessary cookies are used. Please try again later.",
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
        "first": "Förstapartscookie",
        "third": "Tredjepartscookie",
        "storage": "Lagring i webbläsaren",
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
        "first": "First-party cookie",
        "third": "Third-party cookie",
        "storage": "Browser storage",
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
            "förbättra den. En av dem ger din webbläsare ett slumpmässigt id som följer med varje "
            "sidvisning. Uppgifterna är pseudonyma: de pekar inte direkt ut dig, men de räknas "
            "ändå som personuppgifter och lämnas inte ut till någon annan.",
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
            "improve it. One of them gives your browser a random id that is sent with every page "
            "view. The data is pseudonymous: it does not point to you directly, but it still "
            "counts as personal data, and it is not passed on to anyone else.",
        ),
        "marketing": (
            "Marketing",
            "Marketing cookies are used to show relevant offers, also on other websites, and to "
            "measure the results of our campaigns.",
        ),
    },
}

# The legal ground of a transfer outside the EU/EEA (GDPR Articles 45 to 47), after the country.
TRANSFER_SAFEGUARDS: dict[str, dict[str, str]] = {
    "sv": {
        "adequacy": "med stöd av EU-kommissionens beslut om adekvat skyddsnivå (artikel 45)",
        "scc": "med stöd av EU-kommissionens standardavtalsklausuler (artikel 46)",
        "bcr": "med stöd av bindande företagsbestämmelser (artikel 47)",
    },
    "en": {
        "adequacy": "under the European Commission's adequacy decision (Article 45)",
        "scc": "under the European Commission's standard contractual clauses (Article 46)",
        "bcr": "under binding corporate rules (Article 47)",
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
        return "Tills du stänger webbläsaren" if lang == "sv" else "Until you close the browser"
    parsed = parse_lifetime(lifetime)
    if lang != "sv" or parsed is None:
        return lifetime
    count, unit = parsed
    singular, plural = _UNITS_SV[unit]
    return f"{count} {singular if count == 1 else plural}"
