"""``rnnlens.layers._op_table`` is Keras 3.15.1's own op -> Operation mapping.

The table is generated from Keras's source (``keras/src/ops/*.py``) by reading, in each
exported op function, the ``SomeOp(ctor args).symbolic_call(call args)`` it makes on
symbolic tensors, and each ``SomeOp.__init__`` signature (the config Keras saves is its
arguments with defaults filled in). This test regenerates it from the installed Keras
and compares; ``python tests/test_op_nodes_table.py`` rewrites the file.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

from oracle import keras_available

ROOT = pathlib.Path(__file__).resolve().parents[1]
TABLE = ROOT / "src" / "rnnlens" / "layers" / "_op_table.py"
MODULES = ("numpy", "nn", "math", "linalg", "core")
#: Ops whose Keras node holds a Python function (not data): not recordable in a file.
CONTROL_FLOW = {"while_loop", "fori_loop", "scan", "associative_scan", "map", "switch",
                "cond", "vectorized_map", "custom_gradient"}

HEADER = '''"""Keras 3.15.1's ops as graph nodes: op name -> the Operation class Keras records.

Generated from Keras's source by ``tests/test_op_nodes_table.py`` (which checks it
against the installed Keras); do not edit by hand. Each entry is ``(class name, module
under keras.src.ops, the op's arguments passed to the call (positional, space-separated;
``*name`` for a variadic one), those passed to the call by keyword, {constructor
parameter: default})``: Keras builds ``Class(**{p: op's argument p})`` (parameters in
its ``__init__`` order; ``...``: required) and calls it on the call arguments; the
config it saves is ``{"name": ..., **constructor arguments}``.
"""

'''


def _literal(node: ast.AST | None) -> object:
    if node is None:
        return ...
    return ast.literal_eval(node)


def _classes(tree: ast.Module) -> dict[str, list]:
    out: dict[str, list] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        out[node.name] = []
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                a = item.args
                pos = a.args[1:]
                defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
                pairs = list(zip(pos, defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
                out[node.name] = [(p.arg, _literal(d)) for p, d in pairs if p.arg != "name"]
    return out


def _ops_of(path: pathlib.Path, module: str, known: set[str]) -> dict[str, tuple]:
    tree = ast.parse(path.read_text())
    classes = _classes(tree)
    out = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name in CONTROL_FLOW or \
                node.name not in known or \
                not any("keras_export" in ast.unparse(d) for d in node.decorator_list):
            continue
        calls = []
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            f = sub.func
            if isinstance(f, ast.Attribute) and f.attr == "symbolic_call" and \
                    isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name):
                calls.append((f.value, sub))
            elif isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and \
                    f.func.id in classes:
                calls.append((f, sub))
        if len(calls) != 1:
            continue
        ctor, call = calls[0]
        params = classes[ctor.func.id]
        fn_args = {a.arg for a in node.args.args + node.args.kwonlyargs}
        given = [(p[0], ast.unparse(v)) for p, v in zip(params, ctor.args)]
        given += [(k.arg, ast.unparse(k.value)) for k in ctor.keywords]
        if any(v not in fn_args for _, v in given):
            continue                                  # a computed argument: not generic
        positional = tuple(("*" + a.value.id) if isinstance(a, ast.Starred) else a.id
                           for a in call.args)
        keywords = tuple((k.arg, ast.unparse(k.value)) for k in call.keywords if k.arg)
        out[node.name] = (ctor.func.id, module, tuple(params), tuple(given), positional,
                          keywords)
    return out


def _entry(name: str, entry: tuple) -> str:
    """One op as one source line (wrapped under 100 characters)."""
    cls, module, params, given, positional, keywords = entry
    assert [p for p, _ in params] == [p for p, _ in given] and \
        all(a == b for a, b in given) and all(a == b for a, b in keywords), name
    head = f"    {name!r}: ({cls!r}, {module!r}, {' '.join(positional)!r}, " \
           f"{' '.join(k for k, _ in keywords)!r}, "
    init = "{" + ", ".join(f"{p!r}: {d!r}" for p, d in params) + "}"
    if len(head) + len(init) + 2 <= 99:
        return head + init + "),"
    pad = " " * (len(repr(name)) + 7)
    lines, line = [head.rstrip()], pad + "{"
    for k, (p, d) in enumerate(params):
        item = f"{p!r}: {d!r}" + ("})," if k == len(params) - 1 else ",")
        if len(line) + len(item) + 1 > 99:
            lines.append(line.rstrip())
            line = pad + " "
        line += item if line.endswith(("{", " ")) else " " + item
    return "\n".join(lines + [line])


def generate() -> str:
    import keras
    from rnnlens.ops._dispatch import PUBLIC

    src = pathlib.Path(keras.__file__).parent / "src" / "ops"
    table: dict[str, tuple] = {}
    for module in MODULES:
        table.update(_ops_of(src / f"{module}.py", module, set(PUBLIC)))
    body = "\n".join(_entry(k, table[k]) for k in sorted(table))
    return HEADER + "OPS = {\n" + body + "\n}\n"


def test_table_is_keras_own():
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable; the table cannot be regenerated")
    assert TABLE.read_text() == generate(), \
        "regenerate with: python tests/test_op_nodes_table.py"


def test_table_covers_the_common_ops():
    from rnnlens.layers._op_table import OPS

    for name, cls in (("exp", "Exp"), ("gelu", "Gelu"), ("relu6", "Relu6"),
                      ("log_softmax", "LogSoftmax"), ("threshold", "Threshold"),
                      ("hard_shrink", "HardShrink"), ("squareplus", "Squareplus"),
                      ("get_item", "GetItem"), ("matmul", "Matmul"), ("sum", "Sum")):
        assert OPS[name][0] == cls
    assert OPS["sum"][4] == {"axis": None, "keepdims": False}
    assert OPS["clip"][4] == {"x_min": ..., "x_max": ...}
    assert OPS["einsum"][2] == "*operands"
    assert not CONTROL_FLOW & set(OPS)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    TABLE.write_text(generate())
    print(f"wrote {TABLE}")
