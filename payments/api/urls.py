from django.urls import path

from payments.api import webhooks

urlpatterns = [
    path("webhooks/stripe/", webhooks.StripeWebhookView.as_view(), name="stripe-webhook"),
]
