"""The cookie scanner: a headless Chromium crawl compared with the site's registry.

browser (``crawl``) → observations per scenario → ``findings`` → ``report`` (JSON, HTML).
"""
