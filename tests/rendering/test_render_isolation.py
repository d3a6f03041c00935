"""The renderer never touches pyplot (global state) and works in a process that never loads it."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

from charts_app import rendering

ROOT = Path(rendering.__file__).resolve().parents[2]
# Every module of the renderer package, concatenated: the checks below read them all.
SOURCE = "\n".join(
    path.read_text() for path in sorted(Path(inspect.getsourcefile(rendering)).parent.glob("*.py"))
)


def test_module_source_never_imports_pyplot():
    source = SOURCE
    import_lines = [
        line
        for line in source.splitlines()
        if line.lstrip().startswith(("import ", "from "))
        or "__import__" in line
        or "import_module" in line
    ]
    assert import_lines, "found no import lines at all"
    assert not [line for line in import_lines if "pyplot" in line or "pylab" in line]
    # Also walk the AST: imports nested in functions (lazy imports) count too.
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        assert not [n for n in names if "pyplot" in n or "pylab" in n], ast.dump(node)


def test_rcparams_are_not_touched():
    source = SOURCE
    assert (
        "rcParams" not in source and "rc_context" not in source and "matplotlib.use(" not in source
    )


def test_rendering_in_a_fresh_process_never_loads_pyplot():
    script = """
import sys
from charts_app import rendering
rendering.warm_up()
data = [{"t": f"2026-11-28T{h:02d}:00:00Z", "c": "abc"[h % 3], "v": float(h)} for h in range(24)]
kwargs = {
    "line": {"x": "v", "y": "v"}, "area": {"x": "v", "y": "v"}, "scatter": {"x": "v", "y": "v"},
    "bar": {"x": "c", "y": "v"}, "pie": {"x": "c", "y": "v"},
    "heatmap": {"x": "c", "y": "t", "value": "v"}, "timeseries": {"x": "t", "y": "v"},
}
for chart_type in rendering.CHART_TYPES:
    for fmt in rendering.FORMATS:
        extra = kwargs.get(chart_type, {"y": "v"})
        rendering.render_chart(data=data, chart_type=chart_type, fmt=fmt, **extra)
loaded = sorted(m for m in sys.modules if m.startswith("matplotlib.pyplot") or m == "pylab")
print("LOADED", loaded)
sys.exit(1 if loaded else 0)
"""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LOADED []" in done.stdout
