"""``samtycke scan URL``: crawl a site in headless Chromium and check its cookies against the registry.

Exit status: 0 no violations, 1 violations found, 2 the scan could not run (among the
reasons: Playwright or Chromium not installed; ``prerequisites`` says what to install).
Progress goes to a terminal only; the violations go to stdout and the summary to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from samtycke import cli
from samtycke.cli import add_config_option, command, load_settings

CHROMIUM_ENV = "SAMTYCKE_CHROMIUM"

EXAMPLE = "samtycke scan https://www.example.se/ --pages 20 --site 1 --json scan.json --html scan.html"


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "scan",
        "Scan a website's cookies in headless Chromium; exit 1 when any cookie breaks the rules. "
        "Needs the scan extra (pip install 'samtycke[scan]') and a Chromium (apt-get install chromium).",
        EXAMPLE,
    )
    add_config_option(parser)
    parser.add_argument("url", help="the page to start from; same-origin links are followed")
    parser.add_argument("--pages", type=int, default=10, metavar="N", help="pages to scan (default 10)")
    parser.add_argument("--site", type=int, metavar="ID", help="site id whose registry to check against")
    parser.add_argument("--json", metavar="OUT", help="write the JSON report here")
    parser.add_argument("--html", metavar="OUT", help="write the HTML report here")
    parser.add_argument(
        "--chromium",
        metavar="PATH",
        default=os.environ.get(CHROMIUM_ENV),
        help=f"the Chromium or Chrome to drive (default: ${CHROMIUM_ENV}, else chromium, "
        "chromium-browser or google-chrome on PATH, else Playwright's own download)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from consent.categories import optional_categories
    from consent.registry import Registry
    from consent.scan import findings, prerequisites, report
    from samtycke.progress import Progress

    if args.pages < 1:
        print("--pages must be at least 1.", file=sys.stderr)
        return 2
    if not args.url.startswith(("http://", "https://")):
        print(
            f"{args.url!r} is not an http(s) URL; give the full address, e.g. https://www.example.se/",
            file=sys.stderr,
        )
        return 2
    settings = load_settings(args)
    site = (
        settings.site(args.site) if args.site is not None else (settings.sites[0] if settings.sites else None)
    )
    if site is None:
        print("No such site in the configuration; check --site and --config.", file=sys.stderr)
        return 2
    registry = Registry.for_site(site)
    optional = optional_categories(site)
    try:
        prerequisites.require_playwright()
        chromium = prerequisites.locate(args.chromium, os.environ.get("PATH"))
    except prerequisites.BrowserMissing as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from consent.scan import crawl

    try:
        with Progress("scan") as progress:
            scenarios = crawl.run(args.url, args.pages, optional, chromium, progress)
    except prerequisites.BrowserMissing as exc:  # neither on PATH nor Playwright's own
        print(str(exc), file=sys.stderr)
        return 2
    except crawl.ScanError as exc:
        print(f"The scan could not run: {exc}", file=sys.stderr)
        return 2
    judge = findings.Judge(registry)
    judge.judge(scenarios)
    result = report.build(args.url, registry, scenarios, judge)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.html:
        Path(args.html).write_text(report.html(result), encoding="utf-8")
    for finding in judge.violations:
        print(f"VIOLATION {finding.cookie or '-'}: {finding.reason} ({finding.page or finding.scenario})")
    pages, bad, notes = len(result["pages"]), len(judge.violations), len(judge.warnings)
    print(f"{pages} page(s), {bad} violation(s), {notes} warning(s)", file=sys.stderr)
    return 1 if judge.violations else 0


def main(argv: list[str] | None = None) -> int:
    return cli.main(["scan", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
