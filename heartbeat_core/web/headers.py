"""The headers every answer carries for a browser: the exporter's pages and both servers' own errors.

The status page's script and styles are files of the exporter (no inline code, no CDN), so the
policy can allow ``'self'`` alone.
"""

from __future__ import annotations

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
}
