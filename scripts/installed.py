"""Is this checkout already installed as `pip install -e ".[test]"` would leave it? Exit 0 if so.

scripts/dev.sh asks before running pip, which takes ~6 s even when it has nothing to do (it
resolves every requirement again) — a tenth of the test command's set-up. Yes only when all hold:
- the `dutyflow` distribution is installed editable from this very directory (pip's
  direct_url.json), so a second checkout or a clean clone in CI is always installed;
- its recorded requirements are those pyproject.toml declares now (a dependency added, removed or
  re-pinned since the last install means pip must run);
- every requirement of the project and of its `test` extra is installed at a version it accepts.
Anything else, or anything that cannot be read, is a no: pip runs, as before. Run with `python3 -I`
so that the checkout's own `dutyflow.egg-info` does not stand in for the installed metadata.
"""

from __future__ import annotations

import json
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
EXTRA = "test"


def wanted() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    return [Requirement(text) for text in (*project.get("dependencies", []), *extras.get(EXTRA, []))]


def key(requirement: Requirement) -> tuple[str, str, str]:
    """What a requirement asks for, markers aside (the metadata adds `extra == "test"` to some)."""
    return requirement.name.lower().replace("_", "-"), ",".join(sorted(map(str, requirement.specifier))), \
        ",".join(sorted(requirement.extras))


def installed_from_here(distribution: metadata.Distribution) -> bool:
    text = distribution.read_text("direct_url.json")
    if not text:
        return False
    direct = json.loads(text)
    location = urlsplit(direct.get("url", ""))
    return (direct.get("dir_info", {}).get("editable") is True and location.scheme == "file"
            and Path(unquote(location.path)).resolve() == ROOT)


def satisfied(requirement: Requirement) -> bool:
    try:
        version = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return False
    return requirement.specifier.contains(version, prereleases=True)


def main() -> int:
    try:
        distribution = metadata.distribution("dutyflow")
        if not installed_from_here(distribution):
            return 1
        declared = wanted()
        recorded = {key(Requirement(text)) for text in distribution.requires or []}
        if recorded != {key(r) for r in declared}:
            return 1
        return 0 if all(satisfied(r) for r in declared if r.marker is None or r.marker.evaluate()) else 1
    except Exception:  # noqa: BLE001 - unreadable means "run pip", the safe answer
        return 1


if __name__ == "__main__":
    sys.exit(main())
