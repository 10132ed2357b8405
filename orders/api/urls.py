from django.urls import path

from orders.api import carts, checkouts, receipts, webhooks

urlpatterns = [
    path("carts/", carts.CartCreateView.as_view(), name="cart-create"),
    path("carts/<int:cart_id>/", carts.CartDetailView.as_view(), name="cart-detail"),
    path("carts/<int:cart_id>/merge/", carts.CartMergeView.as_view(), name="cart-merge"),
    path("carts/<int:cart_id>/lines/<str:sku>", carts.CartLineView.as_view(), name="cart-line"),
    path("checkouts/", checkouts.CheckoutCreateView.as_view(), name="checkout-create"),
    path("checkouts/<str:token>/", checkouts.CheckoutDetailView.as_view(), name="checkout-detail"),
    path("webhooks/stripe/", webhooks.StripeWebhookView.as_view(), name="stripe-webhook"),
    path(
        "brand/order-lines/<int:line_id>/receipt/",
        receipts.BrandLineReceiptView.as_view(),
        name="brand-line-receipt",
    ),
]
