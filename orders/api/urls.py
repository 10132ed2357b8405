from django.urls import path

from orders.api import (
    brand_disputes,
    brand_orders,
    carts,
    checkouts,
    codes,
    receipts,
    shopper_orders,
    waitlist,
)

urlpatterns = [
    path(
        "brand/disputes/<int:dispute_id>/evidence/",
        brand_disputes.BrandDisputeEvidenceView.as_view(),
        name="brand-dispute-evidence",
    ),
    path("carts/", carts.CartCreateView.as_view(), name="cart-create"),
    path("carts/<int:cart_id>/", carts.CartDetailView.as_view(), name="cart-detail"),
    path("carts/<int:cart_id>/merge/", carts.CartMergeView.as_view(), name="cart-merge"),
    path("carts/<int:cart_id>/lines/<text:sku>", carts.CartLineView.as_view(), name="cart-line"),
    path("carts/<int:cart_id>/codes/", codes.CartCodeListView.as_view(), name="cart-codes"),
    path(
        "carts/<int:cart_id>/codes/<text:code>/",
        codes.CartCodeDetailView.as_view(),
        name="cart-code",
    ),
    path("checkouts/", checkouts.CheckoutCreateView.as_view(), name="checkout-create"),
    path("checkouts/<text:token>/", checkouts.CheckoutDetailView.as_view(), name="checkout-detail"),
    path(
        "checkouts/<text:token>/confirm/",
        checkouts.CheckoutConfirmView.as_view(),
        name="checkout-confirm",
    ),
    path(
        "brand/order-lines/<int:line_id>/receipt/",
        receipts.BrandLineReceiptView.as_view(),
        name="brand-line-receipt",
    ),
    path("orders/", shopper_orders.ShopperOrderListView.as_view(), name="shopper-order-list"),
    path(
        "orders/<int:order_id>/",
        shopper_orders.ShopperOrderDetailView.as_view(),
        name="shopper-order-detail",
    ),
    path("brand/orders/", brand_orders.BrandOrderListView.as_view(), name="brand-order-list"),
    path(
        "brand/orders/<int:order_id>/",
        brand_orders.BrandOrderDetailView.as_view(),
        name="brand-order-detail",
    ),
    path(
        "brand/orders/<int:order_id>/refunds/",
        brand_orders.BrandOrderRefundView.as_view(),
        name="brand-order-refunds",
    ),
    path(
        "brand/orders/<int:order_id>/shipments/",
        brand_orders.BrandOrderShipmentView.as_view(),
        name="brand-order-shipments",
    ),
    path(
        "brand/orders/<int:order_id>/shipments/<int:shipment_id>/delivered/",
        brand_orders.BrandShipmentDeliveredView.as_view(),
        name="brand-shipment-delivered",
    ),
    path("waitlist/", waitlist.WaitlistJoinView.as_view(), name="waitlist-join"),
    path(
        "waitlist/unsubscribe/",
        waitlist.WaitlistUnsubscribeView.as_view(),
        name="waitlist-unsubscribe",
    ),
]
