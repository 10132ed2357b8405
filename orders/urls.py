from django.urls import path

from orders import views

urlpatterns = [
    path("checkout/<str:token>/", views.payment_page, name="checkout-page"),
    path("checkout/<str:token>/complete/", views.payment_complete, name="checkout-complete"),
    path("orders/<str:token>/", views.order_status_page, name="order-status"),
]
