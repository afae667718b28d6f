"""Size of samtycke's banner next to other open-source consent banners, gzip -9.

Run from anywhere after `npm install` and `node static/build.mjs`:

    python bench/banner_size.py

It prints a table and writes bench/banner_size.json. The others are measured from their npm
packages in node_modules, with the files a site needs for a working banner with its full UI.
Exits 1 when samtycke's banner (JS + inlined CSS, Swedish and English texts) is over budget.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODULES = REPO / "node_modules"
OUT = Path(__file__).resolve().parent / "banner_size.json"
BUDGET = 7.5 * 1024  # bytes, gzip -9, JS and CSS together

# (label, npm package or None for ours, files relative to the package / repo)
BANNERS: list[tuple[str, str | None, list[str]]] = [
    ("samtycke (JS + CSS, sv + en)", None, ["static/banner.js"]),
    (
        "cookieconsent v3 (JS + CSS)",
        "vanilla-cookieconsent",
        ["dist/cookieconsent.umd.js", "dist/cookieconsent.css"],
    ),
    ("Klaro (JS with bundled CSS)", "klaro", ["dist/klaro.js"]),
    ("Klaro (JS without CSS)", "klaro", ["dist/klaro-no-css.js"]),
    (
        "tarteaucitron (core + en + CSS)",
        "tarteaucitronjs",
        ["tarteaucitron.min.js", "lang/tarteaucitron.en.min.js", "css/tarteaucitron.min.css"],
    ),
]


def gzip9(data: bytes) -> int:
    """Bytes after gzip -9 (mtime fixed, so the figure is reproducible)."""
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def measure(label: str, package: str | None, files: list[str]) -> dict[str, Any]:
    root = REPO if package is None else MODULES / package
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        hint = "node static/build.mjs" if package is None else "npm install"
        raise SystemExit(f"{label}: missing {', '.join(str(root / f) for f in missing)}; run `{hint}` first")
    # Files a site loads together are compressed separately, as a browser fetches them.
    sizes = {f: (root / f).read_bytes() for f in files}
    version = "" if package is None else json.loads((root / "package.json").read_text())["version"]
    return {
        "name": label,
        "package": package or "samtycke",
        "version": version,
        "files": files,
        "raw_bytes": sum(len(b) for b in sizes.values()),
        "gzip9_bytes": sum(gzip9(b) for b in sizes.values()),
        "gzip9_per_file": {f: gzip9(b) for f, b in sizes.items()},
    }


def main() -> int:
    rows = [measure(*banner) for banner in BANNERS]
    ours = rows[0]
    result = {"budget_bytes": int(BUDGET), "within_budget": ours["gzip9_bytes"] <= BUDGET, "banners": rows}
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"{'banner':38} {'version':>9} {'raw':>9} {'gzip -9':>9}")
    for row in rows:
        print(f"{row['name']:38} {row['version']:>9} {row['raw_bytes']:>9,} {row['gzip9_bytes']:>9,}")
    print(
        f"budget {int(BUDGET):,} bytes: {'ok' if result['within_budget'] else 'OVER BUDGET'}"
        f" -> {OUT.relative_to(REPO)}"
    )
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
