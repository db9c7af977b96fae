"""Rules about the code itself, read from the source with ast (STYLE.md): imports flow one
way without cycles, and no permission rule is restated outside portal/access.py."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("portal", "indexer")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """The project modules `path` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            if target in known and target != name:
                yield target


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        # A package's __init__ that only re-exports is left out: importing `portal.models` means its modules.
        graph[name] = {target for target in _imports(path, name, known)
                       if not (modules[target].name == "__init__.py" and name.startswith(target + "."))}
    return graph


def test_services_and_indexer_modules_import_each_other_in_one_direction_only() -> None:
    graph = {name: targets for name, targets in _graph().items() if name.count(".") >= 1}
    cycles = [c for c in _cycles(graph) if all(m.count(".") >= 1 for m in c)]
    assert cycles == []


def test_nothing_in_the_portal_imports_the_indexer() -> None:
    offenders = sorted(name for name, targets in _graph().items()
                       if name.startswith("portal") and any(t.startswith("indexer") for t in targets))
    assert offenders == []


# --- permission rules live in portal/access.py alone ------------------------------------------

# The facts about an actor from which rules are built; outside access.py they would restate a rule.
RULE_MATERIAL = {"roles_of", "party_ids_of", "municipality_role", "is_municipality_user", "EDIT_ROLES",
                 "APPROVE_ROLES", "ADMIN_ROLES", "_role_in"}
ACTOR_NAMES = {"actor", "current_user", "memberships", "membership"}


def _names(node: ast.AST) -> set[str]:
    found = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Attribute):
            found.add(inner.attr)
        elif isinstance(inner, ast.Name):
            found.add(inner.id)
    return found


def _restated_rules(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in RULE_MATERIAL:
                found.append(f"{filename}:{node.lineno}: {name}")
        elif isinstance(node, ast.Compare):
            names = _names(node)
            if "Role" in names or "role" in names:
                found.append(f"{filename}:{node.lineno}: compares roles: {ast.unparse(node)}")
            elif names & {"party_id", "party_ids"} and names & ACTOR_NAMES:
                found.append(f"{filename}:{node.lineno}: compares an actor's parties: {ast.unparse(node)}")
    return found


def test_no_role_or_party_comparison_outside_access_py() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != ROOT / "portal" / "access.py":
                found += _restated_rules(path.read_text(), str(path.relative_to(ROOT)))
    assert found == []


def test_the_rule_reader_finds_a_restated_rule() -> None:
    restated = '''
def may_edit(actor, doc):
    return doc.party_id in actor.party_ids or membership.role is Role.EDITOR
def mine(actor):
    return select(Obligation).where(Obligation.responsible_party_id.in_(access.party_ids_of(actor)))
'''
    assert len(_restated_rules(restated, "example.py")) == 3


# --- views are thin ----------------------------------------------------------------------------

def test_views_and_the_api_run_no_queries_of_their_own() -> None:
    found = []
    for folder in ("views", "api"):
        for path in sorted((ROOT / "portal" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                uses_session = (isinstance(node, ast.Attribute) and node.attr == "session"
                                and isinstance(node.value, ast.Name) and node.value.id == "db")
                imports_sql = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
                if uses_session or imports_sql:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


# --- no dead code ------------------------------------------------------------------------------

# Called by a framework, not by our code: Flask's and Click's decorators, SQLAlchemy's and
# flask-login's hooks, pdfminer's and webargs'/marshmallow's overridden methods, Alembic's
# downgrade, and the names the templates read (vulture cannot see into Jinja).
FRAMEWORK_DECORATORS = ["@*.route", "@*.command", "@*.group", "@*.before_request", "@*.after_request",
                        "@*.errorhandler", "@*.app_template_filter", "@*.app_template_global",
                        "@*.context_processor", "@*.app_context_processor", "@*.listens_for", "@*.user_loader",
                        "@*.teardown_appcontext", "@*.teardown_request", "@*.template_filter", "@*.template_global",
                        "@*.before_app_request", "@*.app_errorhandler", "@*.after_app_request", "@*.fixture",
                        "@rule", "@invariant", "@initialize", "@precondition", "@task"]
FRAMEWORK_NAMES = ["process_bind_param", "process_result_value", "is_active", "get_id", "downgrade", "upgrade",
                   "paint_path", "render_image", "parse_objects", "load_json", "load_querystring", "load_multipart",
                   "handle_error", "_deserialize", "Meta", "has_figures", "on_start", "pytest_*", "test_*"]


def test_no_dead_functions_in_the_portal_or_the_indexer() -> None:
    import vulture

    finder = vulture.Vulture(ignore_names=FRAMEWORK_NAMES, ignore_decorators=FRAMEWORK_DECORATORS)
    finder.scavenge([str(ROOT / name) for name in (*PACKAGES, "tests", "bench", "migrations")])
    dead = sorted(f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno}: {item.typ} {item.name}"
                  for item in finder.get_unused_code(min_confidence=60)
                  if item.typ in {"function", "method", "property", "class"}
                  and Path(item.filename).relative_to(ROOT).parts[0] in PACKAGES)
    assert dead == []
