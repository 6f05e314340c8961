"""seed_demo's lineage part: an OpenLineage-reported run, safe to seed twice."""

import io

from checks.models import CheckResult
from lineage.models import OpenLineageEvent
from workflows.demo import lineage as demo


def test_demo_seed_is_idempotent(org_a):
    demo.seed(org_a, io.StringIO())
    demo.seed(org_a, io.StringIO())

    assert OpenLineageEvent.objects.unscoped().filter(organization=org_a).count() == 2
    assert CheckResult.objects.unscoped().filter(organization=org_a, status="fail").count() == 1
