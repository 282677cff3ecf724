from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "domain.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The search index's documents of torrents, requests and collections are built
        # here, in the catalog; search drains its queue through these builders.
        from domain.catalog.collection_selectors import collection_search_documents
        from domain.catalog.moderation_hooks import moderation_hooks_register
        from domain.catalog.request_selectors import request_search_documents
        from domain.catalog.selectors import torrent_search_documents
        from domain.search.documents import document_builder_register

        document_builder_register("torrent", torrent_search_documents)
        document_builder_register("request", request_search_documents)
        document_builder_register("collection", collection_search_documents)
        # Moderation reads torrents, comments, requests and collections as report targets,
        # and appeals of rejected uploads, through what the catalog registers with it.
        moderation_hooks_register()
