"""``prunerl site [--execute] [--check] [--out DIR]``: the course website, a static folder any host serves."""
from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--out", default=None, help="output folder; the site is OUT/_build/html (default: build/site "
                        "in the checkout; outside a checkout --out is required)")
    parser.add_argument("--execute", action="store_true",
                        help="first execute, in full mode, every lesson whose cached notebook is stale "
                             "(minutes per lesson), writing lessons/NN_*.ipynb")
    parser.add_argument("--all", action="store_true", help="with --execute: execute every lesson, stale or not")
    parser.add_argument("--check", action="store_true",
                        help="only check that every lesson's cached outputs match its .py; exit 1 naming the stale")
    parser.add_argument("--root", default=None, help="repository root (default: the prunerl checkout)")


def _root(arg):
    """(the checkout holding the lessons, whether the user is in it: --root or the working folder)."""
    from pathlib import Path

    if arg:
        return Path(arg).resolve(), True
    for candidate, here in ((Path.cwd(), True), (Path(__file__).resolve().parents[3], False)):
        if (candidate / "lessons").is_dir() and (candidate / "pyproject.toml").exists():
            return candidate, here
    return None, False


def run(args) -> int:
    import time
    from pathlib import Path

    from rich.console import Console

    from ..course.site import REPOSITORY
    from ..course.site.notebooks import execute, lesson_sources, stale_lessons

    err = Console(stderr=True, soft_wrap=True)  # a message is one line, whatever the width
    root, here = _root(args.root)
    if root is None or not (root / "lessons").is_dir():
        err.print("[red]cannot build the site[/red]: no lessons/ folder here; run it in a prunerl checkout or "
                  "pass --root")
        return 2
    if not here and (args.execute or (args.out is None and not args.check)):  # never write into the install's tree
        err.print(f"[red]cannot build the site[/red]: {Path.cwd()} is not a prunerl checkout; run it in one, or "
                  "give --out DIR to build the installed course's site into DIR", highlight=False)
        return 2
    if args.all and not args.execute:
        err.print("[red]--all goes with --execute[/red]")
        return 2
    if args.execute:
        todo = lesson_sources(root) if args.all else list(stale_lessons(root))
        for py in todo:
            err.print(f"[dim]executing {py.name} (full mode)...[/dim]")
            out, seconds = execute(py)
            err.print(f"{out.relative_to(root)}: {seconds:.0f} s")
    stale = stale_lessons(root)
    if args.check or stale:
        for why in stale.values():
            print(f"stale: {why}")
        if stale:
            err.print(f"[red]{len(stale)} lesson(s) have stale outputs[/red]: run `prunerl site --execute` "
                      "and commit lessons/*.ipynb")
            return 1
        err.print(f"[green]up to date[/green]: {len(lesson_sources(root))} lesson notebooks")
        return 0
    from ..course.site.build import SiteError, build_site

    out = Path(args.out).resolve() if args.out else root / "build" / "site"
    start = time.perf_counter()
    try:
        html = build_site(root, out, REPOSITORY, log=lambda msg: err.print(f"[dim]{msg}[/dim]"))
    except SiteError as exc:
        err.print(f"[red]site build failed[/red]: {exc}")
        return 1
    err.print(f"[green]built[/green] in {time.perf_counter() - start:.0f} s: open {html / 'index.html'}")
    return 0
