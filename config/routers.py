from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes that answer with and without the trailing slash, as the API reference uses both."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
