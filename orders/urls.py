from django.urls import path

from orders import views
from orders.waitlist import views as waitlist_views
from orders.web import carts, checkout

urlpatterns = [
    path("cart/add/", carts.cart_start, name="web-cart-start"),
    path("cart/<text:token>/", carts.cart_page, name="web-cart"),
    path("cart/<text:token>/add/", carts.cart_add, name="web-cart-add"),
    path("cart/<text:token>/lines/<text:sku>/", carts.cart_line_update, name="web-cart-line"),
    path(
        "cart/<text:token>/lines/<text:sku>/remove/",
        carts.cart_line_delete,
        name="web-cart-line-remove",
    ),
    path("cart/<text:token>/checkout/", checkout.checkout_form, name="web-checkout"),
    path("checkout/<text:token>/", views.payment_page, name="checkout-page"),
    path("checkout/<text:token>/complete/", views.payment_complete, name="checkout-complete"),
    path("orders/<text:token>/", views.order_status_page, name="order-status"),
    path("waitlist/join/", waitlist_views.waitlist_join_form, name="waitlist-join-form"),
    path(
        "waitlist/unsubscribe/<text:token>/",
        waitlist_views.waitlist_unsubscribe_page,
        name="waitlist-unsubscribe-page",
    ),
]
