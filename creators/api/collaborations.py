"""Brands' collaboration offers to the creator, and the creator's answer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from common.serializers import ErrorSchema
from creators.api import MeAPIView
from creators.api.serializers import MeCollaborationSerializer
from creators.models import Collaboration
from creators.selectors import me as selectors
from creators.services import collaborations


class MeCollaborationListView(MeAPIView, generics.ListAPIView):
    """Brands' offers to you, newest first, whatever their state."""

    serializer_class = MeCollaborationSerializer

    def get_queryset(self) -> QuerySet[Collaboration]:
        if getattr(self, "swagger_fake_view", False):
            return Collaboration.objects.none()
        return selectors.collaboration_queryset(creator=self.creator())

    @extend_schema(summary="List your collaboration offers")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class MeCollaborationRespondView(MeAPIView):
    serializer_class = MeCollaborationSerializer
    accept = True

    @extend_schema(
        request=None,
        responses={200: MeCollaborationSerializer, 404: ErrorSchema, 409: ErrorSchema},
    )
    def post(self, request: Request, pk: int) -> Response:
        creator = self.creator()
        collaborations.collaboration_respond(
            creator=creator, collaboration_id=pk, accept=self.accept
        )
        collaboration = selectors.collaboration_queryset(creator=creator).get(pk=pk)
        return Response(MeCollaborationSerializer(collaboration).data)


class MeCollaborationAcceptView(MeCollaborationRespondView):
    """Accept an invitation: its rate counts toward your links while its window holds."""

    accept = True


class MeCollaborationDeclineView(MeCollaborationRespondView):
    """Decline an invitation."""

    accept = False
