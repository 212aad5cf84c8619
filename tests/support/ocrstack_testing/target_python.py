"""The Pythons of the managed hosts, for tests of the scripts the roles run there.

`ansible.builtin.script` runs `roles/*/files/*.py` under the host's own Python: 2.7 on CentOS 7,
3.6 on EL 8 (`platform-python`) and CentOS 7's EPEL, newer elsewhere. These helpers find such
interpreters on the test machine and check, statically, what Python 2.7 cannot parse.
"""

from __future__ import annotations

import ast
import glob
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def target_scripts() -> list[Path]:
    """Every Python file a role ships to run on a host (script files, modules, module_utils)."""
    found: list[Path] = []
    for pattern in ("roles/*/files/*.py", "roles/*/library/*.py", "roles/*/module_utils/*.py"):
        found.extend(ROOT.glob(pattern))
    return sorted(found)


def interpreter(version: str) -> str | None:
    """A working `python<version>`: pyenv's (`~/.pyenv/versions/<version>.*`) or one on PATH
    (pyenv's shims are skipped: they exist for versions that are not active), else None."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", "python")))
    on_path = shutil.which(f"python{version}")
    if on_path and "/shims/" not in on_path:
        candidates.append(on_path)
    for candidate in candidates:
        try:
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return candidate
    return None


def python2_incompatibilities(source: str, filename: str = "<script>") -> list[str]:
    """Syntax Python 2.7 rejects, found in the AST: f-strings, annotations, keyword-only
    arguments, `nonlocal`, `yield from`, async, `:=`, `match`, `raise ... from`, `print` with
    several arguments without `from __future__ import print_function`, star-unpacking outside a call.

    A static check: it proves the file parses as far as these constructs go, not that it runs
    (library differences such as bytes/str are only seen by running it under 2.7)."""
    tree = ast.parse(source, filename)
    future_print = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "__future__"
        and any(alias.name == "print_function" for alias in node.names)
        for node in tree.body
    )
    problems = []
    # Python 2 allows one *args in a call, after the positional arguments; every other Starred is 3.x
    call_star = {
        id(node.args[-1])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[-1], ast.Starred)
    }

    def where(node: ast.AST) -> str:
        return f"{filename}:{getattr(node, 'lineno', '?')}"

    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            problems.append(f"{where(node)}: f-string")
        elif isinstance(node, ast.AnnAssign):
            problems.append(f"{where(node)}: variable annotation")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            if args.kwonlyargs or args.posonlyargs:
                problems.append(f"{where(node)}: keyword-only or positional-only arguments")
            every = args.posonlyargs + args.args + args.kwonlyargs
            every += [a for a in (args.vararg, args.kwarg) if a]
            if any(a.annotation is not None for a in every) or getattr(node, "returns", None) is not None:
                problems.append(f"{where(node)}: annotation")
            if isinstance(node, ast.AsyncFunctionDef):
                problems.append(f"{where(node)}: async def")
        elif isinstance(
            node,
            (ast.Nonlocal, ast.YieldFrom, ast.Await, ast.AsyncFor, ast.AsyncWith, ast.NamedExpr, ast.Match),
        ):
            problems.append(f"{where(node)}: {type(node).__name__}")
        elif isinstance(node, ast.Raise) and node.cause is not None:
            problems.append(f"{where(node)}: raise ... from")
        elif isinstance(node, ast.Starred) and id(node) not in call_star:
            problems.append(f"{where(node)}: star-unpacking outside a call (literal or assignment)")
        elif isinstance(node, ast.Dict) and any(k is None for k in node.keys):
            problems.append(f"{where(node)}: ** in a dict literal")
        elif isinstance(node, ast.Call):
            if (
                any(isinstance(a, ast.Starred) for a in node.args[:-1])
                or sum(k.arg is None for k in node.keywords) > 1
            ):
                problems.append(f"{where(node)}: several * or ** unpackings in one call")
            if (
                isinstance(node.func, ast.Name)
                and node.func.id == "print"
                and not future_print
                and (len(node.args) > 1 or node.keywords)
            ):
                problems.append(f"{where(node)}: print() with several arguments (a tuple on 2.7)")
    return problems
