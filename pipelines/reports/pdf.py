"""HTML pages printed to PDF for meetings (WeasyPrint: CSS paged media, no browser).

A page's CSS says how it prints (``@page`` size, margins, running headers such as
OFFICIAL-SENSITIVE, ``break-before: page`` for one member per page); this module only
turns the HTML into bytes, so the screen page and the printed one share one template.
"""

from __future__ import annotations

import logging


class PdfError(Exception):
    """A PDF could not be made: one plain line naming what to install or what failed."""


def pdf_bytes(html: str, *, title: str) -> bytes:
    """The PDF of ``html`` (a whole page with its own CSS; images embedded as data: URLs)."""
    try:
        import weasyprint  # imported here: it loads Pango, which only the printed products need
    except OSError as exc:  # the Python package is installed but Pango's shared library is not
        raise PdfError(
            f"{title}: cannot make a PDF: WeasyPrint needs Pango (Debian: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0), or run scripts/setup-system.sh ({exc})"
        ) from None
    # WeasyPrint logs every unsupported CSS property at WARNING; the pages are ours, so quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # No base_url and no url_fetcher for the network: everything a page needs is inline.
    return weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args, **kwargs) -> dict:
    """Only inline data: URLs; a page never makes the hub fetch anything (no leak, no wait)."""
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"external resource not allowed in a printed product: {url.split(':', 1)[0]}")
