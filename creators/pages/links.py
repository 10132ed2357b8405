"""The terms of the links fans land with, kept by each process under its pages' versions.

A fan landing from a link (`?atk=`) needs the link's product and its brand's attribution
window (`creators.selectors.landing`). Both change only through writes that bump the
versions the stored page was just served under (a link is a creator's row, the window its
brand's), so each process keeps the terms it read under those versions, which are in the
key: a viral link's landings read no row after a process's first, and a change is seen on
the next request, as the pages' own are.
"""

from __future__ import annotations

from collections.abc import Callable

from common.replica import primary_reads
from creators.pages.versions import LocalEntries
from creators.selectors.landing import LinkTerms, link_terms_get

_LOCAL = LocalEntries(4096)
_NO_LINK = LinkTerms(product_id=0, window_days=0)  # kept too: no such link of this creator


def link_terms_reader(
    *, catalog_version: str, creator_version: str
) -> Callable[..., LinkTerms | None]:
    """`link_terms_get`, kept under the versions a page this request served was stamped
    with (read before the row, as every stored entry's are)."""

    def read(*, link_id: int, creator_id: int) -> LinkTerms | None:
        key = f"{catalog_version}:{creator_version}:{creator_id}:{link_id}"
        terms = _LOCAL.get(key)
        if terms is None:
            # Kept as long as the versions hold: never from a replica that may lag them.
            with primary_reads():
                terms = link_terms_get(link_id=link_id, creator_id=creator_id) or _NO_LINK
            _LOCAL.put(key, terms)
        return None if terms is _NO_LINK else terms

    return read
