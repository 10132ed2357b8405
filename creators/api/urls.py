from django.urls import path

from creators.api import codes, collaborations, links, me, videos

urlpatterns = [
    path("me/", me.MeView.as_view(), name="creator-me"),
    path("me/storefront/", me.MeStorefrontView.as_view(), name="creator-storefront"),
    path("me/collections/", me.MeCollectionListView.as_view(), name="creator-collection-list"),
    path(
        "me/collections/<int:pk>/",
        me.MeCollectionDetailView.as_view(),
        name="creator-collection-detail",
    ),
    path(
        "me/collections/<int:pk>/items/<int:product_id>",
        me.MeCollectionItemView.as_view(),
        name="creator-collection-item",
    ),
    path("me/videos/", videos.MeVideoListView.as_view(), name="creator-video-list"),
    path("me/videos/<int:pk>/", videos.MeVideoDetailView.as_view(), name="creator-video-detail"),
    path(
        "me/videos/<int:pk>/products/",
        videos.MeVideoProductsView.as_view(),
        name="creator-video-products",
    ),
    path("me/codes/", codes.MeCodeListView.as_view(), name="creator-code-list"),
    path("me/links/", links.MeLinkListView.as_view(), name="creator-link-list"),
    path("me/links/<int:pk>/", links.MeLinkDetailView.as_view(), name="creator-link-detail"),
    path(
        "me/collaborations/",
        collaborations.MeCollaborationListView.as_view(),
        name="creator-collaboration-list",
    ),
    path(
        "me/collaborations/<int:pk>/accept/",
        collaborations.MeCollaborationAcceptView.as_view(),
        name="creator-collaboration-accept",
    ),
    path(
        "me/collaborations/<int:pk>/decline/",
        collaborations.MeCollaborationDeclineView.as_view(),
        name="creator-collaboration-decline",
    ),
]
