"""Brands see the creators working with them, and those creators' links to their products only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from creators.models import Collaboration, Creator, Video
from shop.models import Brand, BrandMember
from tests.creators.test_admin_collaborations import (
    changelist_pks,
    creator_row,
    invitation_row,
    link_row,
    login,
)
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory

pytestmark = pytest.mark.django_db

CREATORS_URL = "/admin/creators/brandcreator/"
LINKS_URL = "/admin/creators/affiliatelink/"

# Session, user, memberships, two counts, the auth permissions other apps' admins read for
# the sidebar, and one query for the rows with their counts and statuses: 8, none per row.
# Two spare for admins other apps add to the sidebar; an N+1 over 24 rows is far above.
CHANGELIST_MAX_QUERIES = 10


@pytest.fixture
def brand_a() -> Brand:
    return BrandFactory.create(name="Alpha Apparel", slug="alpha")


@pytest.fixture
def brand_b() -> Brand:
    return BrandFactory.create(name="Bravo Boots", slug="bravo")


@pytest.fixture
def world(brand_a: Brand, brand_b: Brand) -> dict[str, Any]:
    """`shared` works with both brands, `linked` links to A only, `only_b` and `idle` not to A."""
    tee = ProductFactory.create(brand=brand_a, title="Alpha Tee")
    cap = ProductFactory.create(brand=brand_a, title="Alpha Cap")
    boot = ProductFactory.create(brand=brand_b, title="Bravo Boot")
    sock = ProductFactory.create(brand=brand_b, title="Bravo Sock")
    shared, linked = creator_row("shared_star"), creator_row("link_only")
    only_b, idle = creator_row("bravo_only"), creator_row("idle_one")
    invitation_row(brand_a, shared, rate="15.00")
    invitation_row(brand_b, shared, rate="40.00", status=Collaboration.Status.ACCEPTED)
    invitation_row(brand_b, only_b)
    return {
        "shared": shared,
        "linked": linked,
        "only_b": only_b,
        "idle": idle,
        # shared_star -> Alpha Cap falls back to a Bravo product: still an Alpha link.
        "a_links": [
            link_row(shared, tee),
            link_row(linked, cap),
            link_row(shared, cap, fallback_product=boot),
        ],
        "b_links": [link_row(shared, boot), link_row(shared, sock), link_row(only_b, boot)],
    }


@pytest.fixture
def client_a(client: Client, brand_a: Brand) -> Client:
    return login(client, brand_a)


def superuser(client: Client) -> Client:
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def rows_by_handle(client: Client, url: str = CREATORS_URL) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.handle: obj for obj in response.context["cl"].result_list}


# --- creators working with us -----------------------------------------------------------


def test_lists_creators_with_an_invitation_or_a_link_to_the_brand(client_a, world):
    assert set(rows_by_handle(client_a)) == {"shared_star", "link_only"}


def test_link_counts_and_status_read_only_the_brands_rows(client_a, world):
    rows = rows_by_handle(client_a)
    # shared_star links to Alpha Tee and Alpha Cap; its 2 Bravo links do not count.
    assert rows["shared_star"].link_count == 2
    assert rows["link_only"].link_count == 1
    # Bravo's later, accepted invitation never shows through.
    assert rows["shared_star"].invitation_status == Collaboration.Status.INVITED
    assert rows["link_only"].invitation_status is None


def test_changelist_columns_without_sales_show_zero_and_no_refund_rate(client_a, world):
    response = client_a.get(CREATORS_URL)
    headers = [str(h["text"]) for h in response.context["result_headers"]]
    assert headers == [
        "handle",
        "display name",
        "Links to our products",
        "Invitation",
        "Sales",
        "Refund rate",
    ]
    body = response.content.decode()
    assert "Invited" in body
    assert "Accepted" not in body
    assert body.count("\u2014") >= 3  # refund rate for both rows (no sales), no invitation
    assert {row.sales_orders for row in response.context["cl"].result_list} == {0}


def test_search_never_finds_other_brands_creators(client_a, world):
    assert rows_by_handle(client_a, f"{CREATORS_URL}?q=bravo_only") == {}


@pytest.mark.parametrize("handle", ["only_b", "idle"])
@pytest.mark.parametrize("suffix", ["change/", "history/"])
def test_other_creators_are_not_found_by_url(client_a, world, handle, suffix):
    response = client_a.get(f"{CREATORS_URL}{world[handle].pk}/{suffix}", follow=True)
    assert response.redirect_chain[0][0] == "/admin/"
    assert "doesn\u2019t exist" in response.content.decode()


def test_change_view_inlines_show_only_the_brands_links_and_invitations(client_a, world):
    response = client_a.get(f"{CREATORS_URL}{world['shared'].pk}/change/")
    assert response.status_code == 200
    links, invitations = (inline.formset for inline in response.context["inline_admin_formsets"])
    assert {link.pk for link in links.queryset} == {
        world["a_links"][0].pk,
        world["a_links"][2].pk,
    }
    assert [inv.brand.slug for inv in invitations.queryset] == ["alpha"]
    body = response.content.decode()
    assert world["a_links"][0].code in body
    assert world["a_links"][2].code in body
    for link in world["b_links"]:
        assert link.code not in body
    assert "Bravo" not in body
    assert "40.00" not in body


def test_creators_page_is_read_only(client_a, world):
    url = f"{CREATORS_URL}{world['shared'].pk}/change/"
    response = client_a.get(url)
    assert not response.context["has_change_permission"]
    assert all(
        not inline.has_add_permission and not inline.has_change_permission
        for inline in response.context["inline_admin_formsets"]
    )
    assert client_a.post(url, {"display_name": "Renamed"}).status_code == 403
    assert client_a.get(f"{CREATORS_URL}add/").status_code == 403
    world["shared"].refresh_from_db()
    assert world["shared"].display_name == "Shared_Star"


def test_superuser_sees_every_creator_and_every_link(client, world):
    rows = rows_by_handle(superuser(client))
    assert set(rows) == {"shared_star", "link_only", "bravo_only", "idle_one"}
    assert rows["shared_star"].link_count == 4
    assert rows["bravo_only"].invitation_status == Collaboration.Status.INVITED


def test_changelist_query_count_does_not_grow_with_creators(
    client, brand_a, brand_b, django_assert_max_num_queries
):
    tee = ProductFactory.create(brand=brand_a)
    boot = ProductFactory.create(brand=brand_b)
    for i in range(24):
        creator = creator_row(f"creator_{i:02d}")
        link_row(creator, tee)
        link_row(creator, boot)
        invitation_row(brand_a if i % 2 else brand_b, creator)
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.VIEWER)
    BrandMemberFactory.create(brand=BrandFactory.create(), user=member.user)
    client.force_login(member.user)
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        response = client.get(CREATORS_URL)
    rows = response.context["cl"].result_list
    assert len(rows) == 24
    assert {row.link_count for row in rows} == {1}


# --- affiliate links -------------------------------------------------------------------


def test_link_changelist_lists_only_links_to_own_products(client_a, world):
    assert changelist_pks(client_a, LINKS_URL) == {link.pk for link in world["a_links"]}


def test_other_brand_links_are_not_found_by_url(client_a, world):
    response = client_a.get(f"{LINKS_URL}{world['b_links'][0].pk}/change/", follow=True)
    assert response.redirect_chain[0][0] == "/admin/"
    assert world["b_links"][0].code not in response.content.decode()


def test_links_are_read_only_for_members(client_a, world):
    link = world["a_links"][0]
    url = f"{LINKS_URL}{link.pk}/change/"
    response = client_a.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client_a.post(url, {"is_active": ""}).status_code == 403
    assert client_a.get(f"{LINKS_URL}add/").status_code == 403
    link.refresh_from_db()
    assert link.is_active


def test_link_page_never_shows_another_brands_fallback(client, brand_a, brand_b, world):
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    client.force_login(member.user)
    shared_cap = world["a_links"][2]
    body = client.get(f"{LINKS_URL}{shared_cap.pk}/change/").content.decode()
    assert shared_cap.code in body
    assert "Bravo Boot" not in body


# --- superuser-only admins --------------------------------------------------------------


def test_members_never_reach_the_creator_and_video_admins(client_a, world):
    video = Video.objects.create(
        creator=world["shared"], platform=Video.Platform.TIKTOK, url="https://t.example/1"
    )
    for url in (
        "/admin/creators/creator/",
        f"/admin/creators/creator/{world['shared'].pk}/change/",
        "/admin/creators/video/",
        f"/admin/creators/video/{video.pk}/change/",
        "/admin/creators/creator/add/",
    ):
        assert client_a.get(url).status_code == 403, url
    apps = {a["app_label"]: a for a in client_a.get("/admin/").context["app_list"]}
    assert {m["object_name"] for m in apps["creators"]["models"]} == {
        "AffiliateLink",
        "BrandCreator",
        "Collaboration",
        "CreatorCode",  # their codes (issue, switch on and off)
    }
    assert {m["object_name"] for m in apps["commissions"]["models"]} == {
        "CommissionHold",  # sales held for review (release or reverse)
        "CommissionLine",  # their liabilities (read-only)
        "CommissionTerms",  # their hold period
        "Settlement",  # what Tribe owes them (read-only)
    }


def test_staff_without_a_brand_gets_no_creators_admin(client, world):
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get(CREATORS_URL).status_code == 403
    assert client.get(LINKS_URL).status_code == 403
    assert client.get("/admin/").context["app_list"] == []


def test_superuser_searches_creators_and_videos(client, world):
    superuser(client)
    Video.objects.create(
        creator=world["idle"], platform=Video.Platform.YOUTUBE, url="https://y.example/1"
    )
    creators = changelist_pks(client, "/admin/creators/creator/?q=idle")
    assert creators == {world["idle"].pk}
    videos = client.get("/admin/creators/video/?q=idle_one").context["cl"].result_list
    assert [v.creator_id for v in videos] == [world["idle"].pk]
    assert client.get(f"/admin/creators/creator/{world['only_b'].pk}/change/").status_code == 200
    assert Creator.objects.count() == 4
