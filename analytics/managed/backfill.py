"""What a new or changed goal means for past data, as the API and the dashboard state it.

It follows from how goals are counted (``analytics.stats.goals``): every goal report tests
each stored raw event against the site's goals at query time, and no rollup or column holds
per-goal counts.  So nothing is recomputed and nothing needs to be: a goal counts every
matching hit the raw events still hold, from before its creation too.
"""

from __future__ import annotations

from samtycke.settings import Site


def statement(site: Site, lang: str = "en") -> str:
    months = site.retention_months
    if lang == "sv":
        return (
            "Mål räknas när statistiken hämtas, ur de lagrade händelserna; inga förberäknade summor finns "
            "per mål. Ett nytt eller ändrat mål gäller därför genast och räknar också träffar från innan "
            f"det skapades, så långt tillbaka som händelserna sparas ({months} månader för webbplatsen). "
            "Ett borttaget mål försvinner ur alla perioder."
        )
    return (
        "Goals are counted when statistics are asked for, from the stored raw events; no totals are kept "
        "per goal. A new or changed goal therefore applies at once and also counts matching hits from "
        f"before it was created, as far back as raw events are kept ({months} months for this site). "
        "A deleted goal disappears from every period."
    )
