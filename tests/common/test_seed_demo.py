import pytest
from django.core.management import call_command

from accounts.models import User
from shop.models import Product, StockMovement, Variant

pytestmark = pytest.mark.django_db


def test_seed_demo_can_run_twice_without_duplicating(settings, capsys):
    settings.DEMO_SEED_ALLOWED = True
    call_command("seed_demo")
    counts = (User.objects.count(), Product.objects.count(), Variant.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Product.objects.count(), Variant.objects.count()) == counts
    assert counts[1] > 0
    out = capsys.readouterr().out
    assert "/admin/" in out
    assert "/api/docs/" in out
    assert "Web shop" in out


def test_seeded_stock_is_explained_by_movements(settings):
    settings.DEMO_SEED_ALLOWED = True
    call_command("seed_demo")
    for variant in Variant.objects.all():
        ledger = sum(StockMovement.objects.filter(variant=variant).values_list("delta", flat=True))
        assert ledger == variant.on_hand


def test_seed_demo_refuses_outside_the_local_settings(settings, capsys):
    settings.DEMO_SEED_ALLOWED = False
    call_command("seed_demo")
    assert not User.objects.exists()
