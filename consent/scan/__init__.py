"""The cookie scanner: a headless Chromium crawl compared with the site's registry.

browser (``crawl``) → observations per scenario (``observed``) → ``findings`` → ``report``
(JSON, HTML).  ``prerequisites`` says which Chromium it drives and what to install when
one is missing; ``cli`` is ``samtycke scan``.
"""
