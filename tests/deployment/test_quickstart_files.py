"""docs/quickstart.md posts files of this repository: they must exist where it says (they have moved before)."""

import re

from tests.deployment.processes import ROOT


def test_every_file_the_quickstart_posts_or_edits_exists():
    text = (ROOT / "docs" / "quickstart.md").read_text()
    paths = set(re.findall(r"-d @([\w./-]+)", text)) | set(re.findall(r"sed '[^']*' ([\w./-]+)", text))
    in_repository = {path for path in paths if not path.startswith("/")}
    assert in_repository, "the quickstart posts no file of the repository"
    for path in in_repository:
        assert (ROOT / path).is_file(), f"docs/quickstart.md names {path}, which does not exist"
