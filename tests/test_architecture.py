"""The layout's rules, checked on the source: imports run one way, no cycles, storage knows
nothing above it, each SDK stays in its backend, modules and functions stay small.

Imports are read from the AST, function-level (lazy) imports included.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.support.env import ROOT, clean_env

PACKAGES = ("aeris", "core", "sessions_app", "charts_app")
SDKS = {
    "cloudinary": "charts_app.storage.cloudinary",
    "cloudinary_storage": "charts_app.storage.cloudinary",
    "boto3": "charts_app.storage.s3",
    "botocore": "charts_app.storage.s3",
    "azure": "charts_app.storage.azure",
}
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every project module outside migrations and tests, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module name `module` imports, anywhere in its body (absolute names)."""
    path = modules()[module]
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, path.name == "__init__.py")
            names.add(target)
            # `from package import module` imports that module.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return frozenset(names)


def project_imports(module: str) -> set[str]:
    """The project modules `module` imports (a name resolves to its longest known module)."""
    known = modules()
    found = set()
    for name in imports_of(module):
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_import_cycles():
    graph = {module: project_imports(module) for module in modules()}
    # A package's __init__ re-exporting its own modules is not a cycle through them.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not t.startswith(module + ".")}
    visiting, done, cycles = set(), set(), []

    def visit(node, path):
        visiting.add(node)
        for target in sorted(graph[node]):
            if target in visiting:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in done:
                visit(target, [*path, target])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("core", ["charts_app", "sessions_app", "aeris"]),
        ("sessions_app", ["charts_app", "aeris"]),
        ("charts_app.models", ["charts_app.services", "charts_app.api", "charts_app.storage"]),
        (
            "charts_app.storage",
            [
                "charts_app.models",
                "charts_app.services",
                "charts_app.api",
                "charts_app.deletion",
                "charts_app.views",
                "charts_app.admin",
                "charts_app.rendering",
                "sessions_app",
            ],
        ),
        ("charts_app.rendering", ["charts_app.models", "charts_app.services", "charts_app.api"]),
        ("charts_app.rendering", ["charts_app.storage", "sessions_app"]),
        (
            "charts_app.services",
            ["charts_app.api", "charts_app.tools", "charts_app.views", "charts_app.admin"],
        ),
    ],
)
def test_imports_run_downward(layer, forbidden):
    offending = {
        module: sorted(t for t in project_imports(module) if _within(t, forbidden))
        for module in modules()
        if _within(module, [layer])
    }
    assert {m: t for m, t in offending.items() if t} == {}


BACKENDS = ["local", "cloudinary", "objectstore", "s3", "azure"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_modules_import_only_storage_basics(backend):
    module = f"charts_app.storage.{backend}"
    allowed = {f"charts_app.storage.{name}" for name in ("base", "errors", "objectstore")}
    assert project_imports(module) - allowed == set()


def test_each_sdk_is_imported_by_its_backend_module_only():
    offending = []
    for module in modules():
        for name in imports_of(module):
            top = name.split(".")[0]
            if top in SDKS and SDKS[top] != module:
                offending.append((module, name))
    assert offending == []


def test_sdks_are_not_imported_when_their_backend_is_not_configured(tmp_path):
    script = (
        "import sys, django\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from charts_app.storage import get_chain\n"
        "from charts_app.services import chart_create\n"
        "chart_create(data=[{'t': 1, 'v': 2}, {'t': 2, 'v': 3}], chart_type='line')\n"
        "print(get_chain().names)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'cloudinary', 'cloudinary_storage', 'boto3', 'botocore', 'azure'}))\n"
    )
    env = clean_env(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path)}
    )
    env["CHARTS_BACKENDS"] = "cloudinary,s3,azure,local"  # listed, but none configured
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["['local']", "[]"]


def test_modules_and_functions_stay_small():
    too_long = []
    for module, path in modules().items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert too_long == []


def _asks_a_backend_what_it_is(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("hasattr", "getattr"):
        subject = ast.unparse(node.args[0]) if node.args else ""
        return any(word in subject for word in ("backend", "storage", "chain", "target"))
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        return any(isinstance(o, ast.Constant) and o.value == "local" for o in operands)
    return False


def test_only_storage_knows_what_a_backend_is():
    offending = []
    for module, path in modules().items():
        # conf parses CHARTS_BACKENDS, where the names are defined (local must come last).
        if module.startswith("charts_app.storage") or module == "charts_app.conf":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if _asks_a_backend_what_it_is(node):
                offending.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    assert offending == []


def test_readme_and_docs_stand_alone():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert [str(p) for p in texts if "../shared" in p.read_text()] == []
    assert (ROOT / "docs" / "ARCHITECTURE.md").exists()


def test_the_rules_see_the_tree():
    # A guard against a checker that checks nothing: it finds the layers it polices.
    names = set(modules())
    assert {"charts_app.storage.chain", "charts_app.services.charts", "core.errors"} <= names
    assert "charts_app.storage.base" in project_imports("charts_app.storage.local")
    assert os.path.basename(modules()["charts_app.storage"]) == "__init__.py"
