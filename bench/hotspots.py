"""Where a pds command spends its time: py-spy samples, each attributed to one category.

Why sampled stacks and not cProfile totals: a cProfile total counts a function's time once
for every category above it (a lazy import inside validation is both); a sampled stack is
attributed once, to the first category in RULES that any of its frames matches, so the
shares add up to 100%. Read-only: it runs the command as users do, under py-spy.

    python bench/hotspots.py record --native --out compile.raw -- pds compile   (in a project folder)
    python bench/hotspots.py summarize compile.raw [--top 15]

`record` needs py-spy (`pip install py-spy`) and ptrace rights (root, or a relaxed ptrace_scope).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

# (category, pattern on one frame "function (file:line)"): the first category that any frame of a
# stack matches takes the sample, so the order is the priority
RULES: list[tuple[str, str]] = [
    # only seen with `record --native`: the C frames under Python ones (mypyc-compiled sqlglot, gc)
    ("Python's cyclic garbage collector (gc, from any caller)", r"gc_collect|collect_generations"),
    ("imports (module execution on first use)", r"<frozen importlib\._bootstrap|_call_with_frames_removed"),
    ("Jinja: compiling templates", r"jinja2/(environment|compiler|parser|lexer|idtracking|optimizer)\.py"),
    ("Jinja: rendering", r"jinja2/|pds_core/render\.py"),
    ("validation: sqlglot qualify", r"sqlglot/optimizer/qualify"),
    ("column lineage (pds_core/lineage.py, sqlglot lineage)", r"pds_core/lineage\.py|sqlglot/lineage\.py"),
    ("validation: other (schema, scopes, checks)", r"pds_core/validate\.py"),
    ("sqlglot: tokenize", r"sqlglot/(tokens|tokenizer_core)|Dialect\.tokenize"),
    ("sqlglot: parse", r"sqlglot/(parser|parsers)|parse_one|Dialect\.parse"),
    ("sqlglot: generate SQL text", r"sqlglot/generator\.py|sqlglot/dialects/.*Generator|\.sql \(sqlglot"),
    ("DuckDB statements (adapter execute/fetch)", r"pds_adapters/.*(execute|fetch|query|transaction)|duckdb"),
    ("results tables / history", r"pds_core/results\.py|pds_core/reporting\.py|fingerprint_store"),
    ("artifacts: manifest, run_results, compiled/", r"pds_core/artifacts\.py|json/encoder|json/__init__"),
    ("parse cache (pickle)", r"pds_core/cache\.py|pickle"),
    ("scheduler / threads", r"pds_core/scheduler\.py|concurrent/futures|threading\.py"),
    ("test runner (quality)", r"pds_core/quality/"),
    ("loading files, YAML, config", r"pds_core/(loader|yamlio|config|schema_yml|parser|profiles)\.py|yaml/"),
    ("graph (networkx)", r"networkx/|pds_core/graph\.py|pds_core/selector\.py"),
    ("compiler (other)", r"pds_core/compiler\.py"),
]
_COMPILED = [(name, re.compile(pattern)) for name, pattern in RULES]
_LINE = re.compile(r"^(.*) (\d+)$")


def categorize(stack: str) -> str:
    frames = stack.split(";")
    for name, pattern in _COMPILED:
        if any(pattern.search(frame) for frame in frames):
            return name
    return "other"


def summarize(path: Path, top: int = 15) -> str:
    """Markdown: share of samples per category, then the leaf functions taking the most samples."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        stack, count = match.group(1), int(match.group(2))
        total += count
        categories[categorize(stack)] += count
        leaves[re.sub(r":\d+\)$", ")", stack.split(";")[-1])] += count
    if not total:
        return f"{path}: no samples\n"
    lines = [f"{total} samples in {path.name}", "", "| where | share |", "|---|---|"]
    lines += [f"| {name} | {100 * n / total:.1f}% |" for name, n in categories.most_common()]
    lines += ["", "| leaf function (self time) | share |", "|---|---|"]
    lines += [f"| `{name}` | {100 * n / total:.1f}% |" for name, n in leaves.most_common(top)]
    return "\n".join(lines) + "\n"


def record(out: Path, cmd: list[str], rate: int, native: bool = False) -> int:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists() and not shutil.which(spy):
        raise SystemExit("py-spy not found: pip install py-spy")
    flags = ["--native"] if native else []
    return subprocess.call([spy, "record", *flags, "-r", str(rate), "-f", "raw", "-o", str(out), "--", *cmd])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record", help="run a command under py-spy, raw stacks to --out")
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument("--rate", type=int, default=200, help="samples per second")
    rec.add_argument("--native", action="store_true",
                     help="also C frames: mypyc-compiled sqlglot and the garbage collector show up")
    rec.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    summ = sub.add_parser("summarize", help="shares per category of a raw py-spy file")
    summ.add_argument("raw", type=Path)
    summ.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    if args.cmd == "record":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        return record(args.out, command, args.rate, args.native)
    print(summarize(args.raw, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
