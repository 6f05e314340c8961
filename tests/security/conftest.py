import pytest

from tests.security.world import build_org_a, build_org_b


@pytest.fixture
def warehouse_dir(tmp_path, settings):
    directory = tmp_path / "warehouses"
    directory.mkdir()
    settings.DATAXPIPE_SQLITE_ALLOWED_DIRS = [str(directory)]
    return directory


@pytest.fixture
def world_a(make_org):
    return build_org_a(make_org)


@pytest.fixture
def world_b(make_org, warehouse_dir):
    return build_org_b(make_org, warehouse_dir)
