"""A creator's collaboration offers and their answers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from creators.models import Collaboration
from tests.conftest import client_for
from tests.creators.factories import CollaborationFactory, CreatorFactory
from tests.shop.factories import BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db

COLLABORATIONS = "/api/v1/creators/me/collaborations/"


def accept_url(pk: int) -> str:
    return f"{COLLABORATIONS}{pk}/accept/"


def decline_url(pk: int) -> str:
    return f"{COLLABORATIONS}{pk}/decline/"


@pytest.fixture
def creator():
    return CreatorFactory.create()


@pytest.fixture
def creator_client(creator):
    return client_for(creator.user)


@pytest.fixture
def invitation(creator):
    return CollaborationFactory.create(
        creator=creator, rate=Decimal("22.50"), message="Come glow with us"
    )


def test_creator_sees_their_invitations_with_their_state(creator_client, creator, invitation):
    past = CollaborationFactory.create(
        creator=creator,
        status=Collaboration.Status.ACCEPTED,
        valid_from=timezone.now() - timedelta(days=30),
        valid_until=timezone.now() - timedelta(days=1),
    )
    results = creator_client.get(COLLABORATIONS).json()["results"]
    by_id = {row["id"]: row for row in results}
    assert set(by_id) == {invitation.pk, past.pk}
    row = by_id[invitation.pk]
    assert (row["status"], row["rate"], row["in_force"]) == ("invited", "22.50", False)
    assert row["brand"]["slug"] == invitation.brand.slug
    assert row["message"] == "Come glow with us"
    assert (by_id[past.pk]["status"], by_id[past.pk]["in_force"]) == ("accepted", False)


def test_creator_accepts_an_invitation(creator_client, invitation):
    response = creator_client.post(accept_url(invitation.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["in_force"]) == ("accepted", True)
    assert body["responded_at"]
    invitation.refresh_from_db()
    assert invitation.status == Collaboration.Status.ACCEPTED


def test_creator_declines_an_invitation(creator_client, invitation):
    response = creator_client.post(decline_url(invitation.pk))
    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    invitation.refresh_from_db()
    assert invitation.status == Collaboration.Status.DECLINED


@pytest.mark.parametrize("url_of", [accept_url, decline_url])
@pytest.mark.parametrize(
    "state",
    [Collaboration.Status.ACCEPTED, Collaboration.Status.DECLINED, Collaboration.Status.REVOKED],
)
def test_answering_an_offer_already_closed_is_409(creator_client, creator, url_of, state):
    collaboration = CollaborationFactory.create(creator=creator, status=state)
    response = creator_client.post(url_of(collaboration.pk))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "collaboration_closed"
    collaboration.refresh_from_db()
    assert collaboration.status == state


@pytest.mark.parametrize("url_of", [accept_url, decline_url])
def test_another_creators_invitation_is_404_and_untouched(creator_client, url_of):
    theirs = CollaborationFactory.create()
    response = creator_client.post(url_of(theirs.pk))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "collaboration_not_found"
    theirs.refresh_from_db()
    assert theirs.status == Collaboration.Status.INVITED


def test_another_creators_invitations_are_not_listed(creator_client):
    CollaborationFactory.create()
    assert creator_client.get(COLLABORATIONS).json()["results"] == []


def test_collaboration_list_costs_a_fixed_number_of_queries(
    creator_client, creator, django_assert_max_num_queries
):
    for n in range(25):
        brand = BrandFactory.create()
        CollaborationFactory.create(
            brand=brand,
            creator=creator,
            product=ProductFactory.create(brand=brand) if n % 2 else None,
            status=Collaboration.Status.ACCEPTED if n % 3 else Collaboration.Status.INVITED,
        )
    # user, creator, collaborations with brands and products
    with django_assert_max_num_queries(3):
        response = creator_client.get(COLLABORATIONS, {"page_size": 25})
    results = response.json()["results"]
    assert len(results) == 25
    assert sum(1 for row in results if row["product"]) == 12
