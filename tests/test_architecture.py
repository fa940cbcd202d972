"""Architecture rules, checked on the source: no import cycles between project modules, a package's
``__init__.py`` is only its public face (re-exports of its own submodules), no module imports from its
own package's face, and only ``blender_scripts`` imports bpy. Imports inside functions count too (a
lazy import hides a cycle from Python, not from a reader)."""

import ast
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("datagen", "blender_scripts", "materials", "trainer")


class Edge(NamedTuple):
    """``source`` names ``target`` in an import at ``where`` (``file:line``)."""

    source: str
    target: str
    where: str

    @property
    def line(self) -> int:
        return int(self.where.rpartition(":")[2])

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}  ({self.where})"


def _modules(root: Path = ROOT, packages=PACKAGES) -> dict[str, Path]:
    """Module name -> file; a package is named by its ``__init__.py`` (its face)."""
    mods = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _closest(name: str, mods: dict) -> str:
    """``name`` or its closest enclosing project module ('' for a module outside the project)."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name


def _base(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    pkg = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(pkg + ([node.module] if node.module else []))


def _edges(name: str, path: Path, mods: dict, root: Path = ROOT) -> list[Edge]:
    """Every import of a project module by ``name``: ``import a.b`` names ``a.b``; ``from a import b``
    names ``a`` (a package's face too) and, if ``b`` is a submodule, ``a.b``. No edge is dropped
    but one to ``name`` itself."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [_closest(a.name, mods) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(name, path, node)
            targets = [_closest(base, mods)] + [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
        else:
            continue
        out += [Edge(name, t, f"{path.relative_to(root)}:{node.lineno}") for t in dict.fromkeys(targets) if t and t != name]
    return out


def _all_edges(root: Path = ROOT, packages=PACKAGES) -> list[Edge]:
    mods = _modules(root, packages)
    return [e for m, p in mods.items() for e in _edges(m, p, mods, root)]


def _graph(edges: list[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    return graph


def _own_face_edges(edges: list[Edge]) -> list[Edge]:
    """Edges from a module to the face (``__init__``) of a package that contains it."""
    return [e for e in edges if e.source.startswith(e.target + ".")]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _face_violations(root: Path = ROOT, packages=PACKAGES) -> list[str]:
    """Statements of a package ``__init__.py`` other than a docstring, ``from __future__``, imports
    of the package's own submodules and ``__all__``."""
    bad, mods = [], _modules(root, packages)
    for name, path in mods.items():
        if path.name != "__init__.py":
            continue
        for i, node in enumerate(ast.parse(path.read_text(), filename=str(path)).body):
            if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                continue
            if isinstance(node, ast.ImportFrom):
                base = _base(name, path, node)
                if base == "__future__" or base.startswith(name + ".") \
                        or (base == name and all(f"{name}.{a.name}" in mods for a in node.names)):
                    continue
            if isinstance(node, ast.Import) and all(a.name.startswith(name + ".") for a in node.names):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            if targets and all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                continue
            bad.append(f"{path.relative_to(root)}:{node.lineno}: {type(node).__name__}")
    return bad


def test_no_module_imports_from_its_own_package_face():
    edges = _own_face_edges(_all_edges())
    assert not edges, f"{len(edges)} imports from the module's own package face (import the module itself):\n" \
        + "\n".join(map(str, edges))


def test_no_import_cycles_between_project_modules():
    cycles = _cycles(_graph(_all_edges()))
    assert not cycles, f"{len(cycles)} import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_package_inits_are_faces_only():
    bad = _face_violations()
    assert not bad, "a package __init__.py only re-exports its submodules (move the code into a module):\n" \
        + "\n".join(bad)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_edge_counter_finds_an_import_from_the_own_face(tmp_path):
    pkg = tmp_path / "fake"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A face."""\n\nfrom fake.a import x\n\n__all__ = ["x"]\n')
    (pkg / "a.py").write_text("import os\n\n\ndef x():\n    from fake import b\n    return b\n")
    (pkg / "b.py").write_text("y = 1\n")
    edges = _all_edges(tmp_path, ("fake",))
    assert [(e.source, e.target, e.line) for e in _own_face_edges(edges)] == [("fake.a", "fake", 5)]
    assert ("fake.a", "fake.b") in {(e.source, e.target) for e in edges}
    assert _cycles(_graph(edges)) == [["fake", "fake.a"]]
    assert _face_violations(tmp_path, ("fake",)) == []
    (pkg / "__init__.py").write_text('"""A face."""\n\nVERSION = "1"\n\n\ndef f():\n    pass\n')
    assert _face_violations(tmp_path, ("fake",)) == ["fake/__init__.py:3: Assign", "fake/__init__.py:6: FunctionDef"]


def test_only_blender_scripts_imports_bpy():
    bad = []
    for m, path in _modules().items():
        if m.startswith("blender_scripts"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "bpy" or n.startswith("bpy.") or n == "mathutils" for n in names):
                bad.append(m)
    assert not bad, f"bpy imported outside blender_scripts: {bad}"
