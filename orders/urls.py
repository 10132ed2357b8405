from django.urls import path

from orders import views
from orders.waitlist import views as waitlist_views

urlpatterns = [
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
