"""The boundaries the README states, read from the source: `iomkit` is shared by every
service and imports none of them, and services talk only over the contract's topics, so
none imports another. Every import counts, at module level or inside a function (a lazy
import crosses the boundary all the same), and so does `importlib.import_module` of a
constant name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from iomkit.settings import ROOT

IOMKIT = ROOT / "iomkit"
SERVICES = ROOT / "services"
SERVICE_NAMES = sorted(
    p.name for p in SERVICES.iterdir() if p.is_dir() and (p / "__init__.py").exists()
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the text of ``module``
    (``is_package``: an ``__init__.py``)."""
    tree = ast.parse(source, filename=module)
    package = module.split(".")
    if not is_package:
        package.pop()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the file's own package
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            # `from services import risk` names the service in the alias, not the module.
            for alias in node.names:
                yield node.lineno, f"{name}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def crossings(folder: Path, allowed: str | None) -> list[str]:
    """`file:line imports name` for every import of `services.*` from a file under
    ``folder`` that is not under ``services.<allowed>`` (None: no service at all)."""
    found: dict[tuple[str, int], str] = {}
    for path in sources(folder):
        text = path.read_text(encoding="utf-8")
        for line, name in imported(text, module_name(path), path.name == "__init__.py"):
            parts = name.split(".")
            if parts[0] != "services" or len(parts) < 2:
                continue
            if parts[1] in SERVICE_NAMES and parts[1] != allowed:
                # One line names one import: the module, not each name taken from it.
                found.setdefault((str(path.relative_to(ROOT)), line), name)
    return [f"{file}:{line} imports {name}" for (file, line), name in sorted(found.items())]


def test_there_is_something_to_check() -> None:
    assert set(SERVICE_NAMES) >= {"referrals", "risk", "gps_stream", "notifications"}
    assert sources(IOMKIT) and all(sources(SERVICES / s) for s in SERVICE_NAMES)


def test_iomkit_imports_no_service() -> None:
    found = crossings(IOMKIT, allowed=None)
    assert not found, "iomkit is shared by the services and imports none:\n" + "\n".join(found)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_a_service_imports_no_other_service(service: str) -> None:
    found = crossings(SERVICES / service, allowed=service)
    assert not found, (
        f"{service} talks to other services over topics only, and imports none:\n"
        + "\n".join(found)
    )


def test_the_check_sees_every_kind_of_import() -> None:
    """The checker itself: absolute, from-, relative, lazy and import_module imports."""
    source = (
        "import services.gps_stream.trail\n"
        "from services import notifications\n"
        "from ..referrals.case import dossier\n"
        "def later():\n"
        "    import importlib\n"
        "    return importlib.import_module('services.gps_stream.app')\n"
        "from services.risk import person\n"
        "from . import grading\n"
    )
    names = {name for _, name in imported(source, "services.risk.probe")}
    assert {
        "services.gps_stream.trail", "services.notifications", "services.referrals.case.dossier",
        "services.gps_stream.app", "services.risk.person", "services.risk.grading",
    } <= names
