"""The web shop's cart and checkout pages: thin views over the services the API uses.

Map: `context` (the visitor's cart for any page), `carts` (cart page, add, change, remove),
`checkout` (email and address form), `forms`, `wording` (service errors in shoppers' words).
"""
