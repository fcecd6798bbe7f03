"""The package's structure rules (ARCHITECTURE.md), checked on the source itself.

- Imports go one way: each package imports only the packages listed for it below.
- Nothing under plugins/ imports Airflow except airflow_support/ (and a UI plugin module, when one exists).
- No product module imports the demo package (only cli.py and demo/ itself may).
- SQL text lives in warehouse/ (Python query functions) and include/sql/, nowhere else.
- No function takes more than six parameters.
- No library code reads today's date or re-parses a quarter label by slicing: quarters travel as
  FinancialQuarter objects from the DAG boundary down.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "public_health"
PLUGINS = ROOT / "plugins"

#: package (first path part under public_health/, or the module name) -> packages it may import
ALLOWED: dict[str, set[str]] = {
    "periods": set(),
    "config": {"periods"},
    "fingertips": {"config", "periods"},
    "returns": {"config", "periods"},
    "quality": {"config", "periods"},
    "stats": {"config", "periods"},
    "warehouse": {"config", "periods", "quality"},
    "reports": {"config", "periods", "returns", "quality", "stats", "warehouse"},
    "pipelines": {"config", "periods", "fingertips", "returns", "quality", "warehouse"},
    "airflow_support": {"config", "periods", "warehouse", "pipelines"},
    "demo": {"config", "periods", "returns", "fingertips"},
    # The "Public health data" page: reads the warehouse through its queries; no Airflow (the plugin module
    # directly under plugins/ mounts it and supplies Airflow's login check).
    "ui": {"config", "periods", "warehouse"},
    "cli": {"config", "periods", "fingertips", "returns", "quality", "stats", "warehouse", "reports", "pipelines",
            "airflow_support", "demo"},
}
#: modules allowed to import Airflow: the adapters, and any UI plugin module directly under plugins/
AIRFLOW_AWARE = ("public_health/airflow_support/",)

SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|COPY|TRUNCATE|MERGE)\b", re.I)
SQL_BODY = re.compile(r"\b(FROM|INTO|SET|TABLE|VALUES)\b", re.I)
MAX_PARAMETERS = 6


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _package_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return out


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_every_package_is_in_the_layer_table():
    packages = {_package_of(p) for p in _modules()} - {"__init__"}
    assert packages <= set(ALLOWED), f"add {sorted(packages - set(ALLOWED))} to ALLOWED and to ARCHITECTURE.md"


def test_imports_go_one_way():
    wrong = []
    for path in _modules():
        src = _package_of(path)
        if src == "__init__":
            continue
        for line, module in _imports(ast.parse(path.read_text())):
            parts = module.split(".")
            if parts[0] != "public_health" or len(parts) < 2 or parts[1] == src:
                continue
            if parts[1] not in ALLOWED[src]:
                wrong.append(f"{_where(path, line)}: {src} imports {module}")
    assert not wrong, "imports against the layer rule (ARCHITECTURE.md):\n" + "\n".join(wrong)


def test_no_product_module_imports_the_demo_package():
    wrong = []
    for path in _modules():
        if _package_of(path) in ("demo", "cli"):
            continue
        for line, module in _imports(ast.parse(path.read_text())):
            if module == "public_health.demo" or module.startswith("public_health.demo."):
                wrong.append(f"{_where(path, line)}: imports {module}")
    assert not wrong, "product code must not import the demo package:\n" + "\n".join(wrong)


def test_only_the_adapters_import_airflow():
    wrong = []
    for path in sorted(PLUGINS.rglob("*.py")):
        rel = path.relative_to(PLUGINS).as_posix()
        if rel.startswith(AIRFLOW_AWARE) or "/" not in rel:  # plugins/<ui_plugin>.py is an Airflow plugin
            continue
        for line, module in _imports(ast.parse(path.read_text())):
            if module.split(".")[0] == "airflow":
                wrong.append(f"{_where(path, line)}: imports {module}")
    assert not wrong, "only airflow_support/ (and the UI plugin) may import Airflow:\n" + "\n".join(wrong)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            out.append((node.lineno, text))
    return sorted(set(out))


def test_sql_lives_in_the_warehouse_package():
    wrong = []
    for path in _modules():
        if _package_of(path) == "warehouse":
            continue
        for line, text in _strings(ast.parse(path.read_text())):
            if SQL_START.match(text) and SQL_BODY.search(text):
                wrong.append(f"{_where(path, line)}: {text.strip()[:70]!r}")
    assert not wrong, "SQL outside warehouse/ (move it into a named query function):\n" + "\n".join(wrong)


@pytest.mark.parametrize("folder", [PACKAGE, ROOT / "dags"], ids=["plugins", "dags"])
def test_no_function_takes_more_than_six_parameters(folder):
    wrong = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = node.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
            count = len(names) + bool(a.vararg) + bool(a.kwarg)
            if count > MAX_PARAMETERS:
                wrong.append(f"{_where(path, node.lineno)}: {node.name} takes {count}")
    assert not wrong, f"functions with more than {MAX_PARAMETERS} parameters:\n" + "\n".join(wrong)


def test_library_code_never_reads_the_clock_for_a_quarter_nor_slices_labels():
    today = re.compile(r"\bdate\.today\(\)")
    sliced = re.compile(r"str\(\w+ *\+ *1\)\[-2:\]|\[-2:\]\}|quarter\[-?\d?:?-?\d*\]|period\[-?\d?:?-?\d*\]")
    wrong = []
    for path in _modules():
        if _package_of(path) in ("demo", "cli"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if today.search(line) or sliced.search(line):
                wrong.append(f"{_where(path, number)}: {line.strip()}")
    assert not wrong, "quarters are FinancialQuarter objects below the DAG boundary:\n" + "\n".join(wrong)


def test_the_old_quarter_helpers_are_gone():
    old = ("quarter_label", "quarters_between", "last_ended_quarter", "previous_quarter", "_fy", "normalise_quarter",
           "split_quarter", "quarter_heading", "quarters_shown", "financial_quarter")
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in old:
                found.append(f"{_where(path, node.lineno)}: def {node.name}")
    assert not found, "use FinancialQuarter instead of:\n" + "\n".join(found)
