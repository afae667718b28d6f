"""The upstream's headers for a page the proxy changed, so caches do not mistake it for the original.

A page with the banner injected is not the byte sequence the upstream described.  A
strong ``ETag`` promises byte-for-byte identity: a browser or cache could splice byte
ranges of the upstream's page into the changed one (``If-Range`` compares strongly), and
a checksum or digest of the upstream's bytes no longer matches what arrives.  So the
ETag becomes weak (``W/"…"``: the same page, not the same bytes), which keeps
revalidation working because ``If-None-Match`` compares weakly; headers about the exact
bytes go (length, checksums, digests, ranges); byte ranges are no longer offered.  The
encoding the visitor gets depends on their ``Accept-Encoding``, so shared caches are
told it varies on it.

A range of a page (206) is never changed: its bytes are the upstream's.  A 304 that
answers a browser revalidating a changed page would put the upstream's strong ETag back
into that browser's cache, so when the browser asked with a weak tag, the answer's tag
is weak too.
"""

from __future__ import annotations

Headers = list[tuple[bytes, bytes]]

# Headers (lower case) that describe the exact bytes of the upstream's response.
EXACT_BYTES = frozenset(
    {
        b"content-length",
        b"content-md5",
        b"digest",
        b"content-digest",
        b"repr-digest",
        b"content-range",
        b"accept-ranges",
    }
)


def weak(etag: bytes) -> bytes | None:
    """The weak form of an entity tag; None for one that is not a tag at all."""
    tag = etag.strip()
    if tag.startswith(b'W/"'):
        return tag
    return b"W/" + tag if tag.startswith(b'"') else None


def changed(headers: Headers, *, varies_on_encoding: bool) -> Headers:
    """``headers`` (lower-case names) for the page once the proxy has changed its bytes."""
    out: Headers = []
    for key, value in headers:
        if key in EXACT_BYTES:
            continue
        if key == b"etag":
            tag = weak(value)
            if tag is not None:
                out.append((key, tag))
            continue
        out.append((key, value))
    out.append((b"accept-ranges", b"none"))
    if varies_on_encoding:
        out.append((b"vary", b"Accept-Encoding"))
    return out


def revalidated(headers: Headers, if_none_match: str) -> Headers:
    """A 304's headers: its tag made weak when the browser's copy carries a weak one."""
    if "W/" not in if_none_match:
        return headers
    out: Headers = []
    for key, value in headers:
        if key == b"etag":
            tag = weak(value)
            if tag is None:
                continue
            value = tag
        out.append((key, value))
    return out
