"""The storefront and product pages, served from a stored shared part.

- `versions`: the cache keys, and the versions that the writers bump (`creators.signals`):
  one for the whole catalog (any brand, product, variant or image), one per creator (its
  profile, storefront, videos, tags, collections and links).
- `storefront`: `/@handle`, stored as HTML pieces with every product card pre-rendered in
  each of its stock states; per request the live stock picks a state per card.
- `locks`: one build of a page at a time (a PostgreSQL advisory lock per page key), so an
  older build never stores over a newer one and a page is built once, however many
  requests find it missing.
- `product`: `/@handle/p/<id>`, stored as HTML with slots for the visitor bar and the buy
  box, and the page's data for the buy box, which is rendered per request with live stock.
- `links`: the terms of the links fans land with, kept per process under the versions.

Nothing stored ever holds a visitor's token, cart or CSRF value: those go into slots
(`common.visitor`) after the stored part is read.
"""
