"""Who is calling: the organization and role every request acts under, whatever the credential."""

from dataclasses import dataclass

from orgs.models import ApiKey, Organization, role_allows


@dataclass(frozen=True)
class Principal:
    organization: Organization
    role: str
    api_key: ApiKey | None = None
    user_id: int | None = None
    scaffold_key_name: str | None = None

    def allows(self, required_role: str) -> bool:
        return role_allows(self.role, required_role)

    @property
    def throttle_ident(self) -> str:
        if self.api_key is not None:
            return f"key:{self.api_key.pk}"
        if self.user_id is not None:
            return f"user:{self.user_id}:{self.organization.pk}"
        return f"scaffold:{self.scaffold_key_name}"


class ApiKeyActor:
    """Stands in for request.user when a key, not a person, is calling."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, label: str):
        self.username = label

    def __str__(self):
        return self.username
