"""GET /api/v1/lineage/{id}?columns=true on a dense, cyclic column graph: the column walk stops after
DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS walked rows, keeping the nearest hops, and says it was cut.

Two tables whose every column derives from every column of the other repeat each (column, column)
pair at every depth: origins x columns x depth rows. Without a bound, 60 columns each way (7,200
edges) took seconds at depth 20 and 100,000 edges minutes (bench/lineage_column_walk.py)."""

import pytest
from rest_framework.test import APIClient

from lineage.models import ColumnLineageEdge, Dataset
from orgs.models import Role

COLUMNS = 12


@pytest.fixture
def dense_cycle(org_a):
    t = Dataset.objects.create(organization=org_a, namespace="wh", dataset_id="t")
    u = Dataset.objects.create(organization=org_a, namespace="wh", dataset_id="u")
    ColumnLineageEdge.objects.bulk_create(
        ColumnLineageEdge(organization=org_a, target=a, target_column=f"c{i}", source=b, source_column=f"c{j}")
        for a, b in ((t, u), (u, t))
        for i in range(COLUMNS)
        for j in range(COLUMNS)
    )
    return t, u


def columns_answer(make_key, org_a, dataset, depth):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=make_key(org_a, Role.READ))
    response = client.get(
        f"/api/v1/lineage/{dataset.dataset_id}", {"columns": "true", "depth": depth, "namespace": "wh"}
    )
    assert response.status_code == 200, response.content[:300]
    return response.json()["columns"]


def test_a_dense_cyclic_column_graph_is_cut_after_the_walk_bound_nearest_first(dense_cycle, make_key, org_a, settings):
    settings.DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS = COLUMNS * COLUMNS * 3  # three hop levels
    t, _ = dense_cycle

    answer = columns_answer(make_key, org_a, t, depth=20)

    assert answer["truncated"] is True
    for column in answer["columns"]:
        reached = {(hop["dataset_id"], hop["column"]): hop["depth"] for hop in column["upstream"]}
        # Every column of both tables is within two hops; their nearest depths survive the cut.
        assert reached == {("u", f"c{j}"): 1 for j in range(COLUMNS)} | {("t", f"c{j}"): 2 for j in range(COLUMNS)}


def test_within_the_bound_the_answer_is_whole(dense_cycle, make_key, org_a, settings):
    settings.DATAXPIPE_LINEAGE_MAX_COLUMN_WALK_ROWS = COLUMNS * COLUMNS * 2 * 3 + 1
    t, _ = dense_cycle

    answer = columns_answer(make_key, org_a, t, depth=2)

    assert answer["truncated"] is False
    assert {len(column["upstream"]) for column in answer["columns"]} == {2 * COLUMNS}
