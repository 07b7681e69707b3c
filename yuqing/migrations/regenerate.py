"""Regenerate the initial migration from the models (only before the first release lands).

    python -m yuqing.migrations.regenerate

After a release, add a new revision instead: ``alembic revision --autogenerate``.
"""

import tempfile
from pathlib import Path

from alembic import command

from yuqing.store import alembic_config

if __name__ == "__main__":
    versions = Path(__file__).parent / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        command.revision(alembic_config(f"sqlite:///{tmp}/empty.db"), message="initial schema",
                         autogenerate=True, rev_id="0001")
