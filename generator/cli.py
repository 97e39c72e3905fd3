"""`flowgraph-report`: the report and the tool in one command.

    flowgraph-report build [--profile quick] ...   the report (what `make site` runs)
    flowgraph-report serve                         the report's site with live reload (mkdocs serve)
    flowgraph-report model PATH [--inputs SHAPE] [--input-range LO,HI] [--data FILE.npz | --data mnist]
                                [--prune FRACTION] [--names FILE] [--exact-relus N] [--out DIR]
                                                   an exact report of your own model (ONNX or torch)
Every failure is one `error:` line and exit status 1."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.pipeline.errors import ConfigError, report as report_error


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ConfigError(f"{message} (see --help)")


def model_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowgraph-report model", description="An exact, explorable report of one small network.")
    parser.add_argument("path", help="an ONNX file (.onnx) or a torch nn.Sequential saved with torch.save (.pt, .pth)")
    parser.add_argument("--inputs", metavar="SHAPE", help="one input's shape, e.g. 784 or 1,28,28 (default: from the file)")
    parser.add_argument("--input-range", metavar="LO,HI", default="0,1", help="the box every input lies in (default 0,1)")
    parser.add_argument("--data", metavar="FILE.npz|mnist", default="",
                        help="samples to check and trace: an .npz with x (and y labels), or mnist (its test images)")
    parser.add_argument("--prune", metavar="FRACTION", type=float, default=0.0,
                        help="prune this share of the weights by global magnitude first (no retraining)")
    parser.add_argument("--names", metavar="FILE", help='JSON {"inputs": [...], "outputs": [...]}')
    parser.add_argument("--exact-relus", metavar="N", type=int, default=300,
                        help="exact bounds (by MILP) for graphs with at most N ReLUs after simplification; "
                             "interval bounds past that (default 300; 0: interval only)")
    parser.add_argument("--title", help="the report's title (default: the file's name)")
    parser.add_argument("--out", metavar="DIR", type=Path, help="where the site goes (default: <model>-report)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "build":
        from generator.build import main as build_main
        return build_main(rest)
    if command == "serve":
        import subprocess
        from generator.pipeline.paths import MKDOCS_YML
        return subprocess.call([sys.executable, "-m", "mkdocs", "serve", "-f", str(MKDOCS_YML), *rest])
    if command == "model":
        try:
            args = model_parser().parse_args(rest)
            from generator.own.command import report
            out = args.out or Path(f"{Path(args.path).stem}-report")
            site = report(args.path, out, inputs=args.inputs, input_range=args.input_range, data=args.data,
                          prune=args.prune, names=args.names, title=args.title, exact_relus=args.exact_relus)
        except BaseException as e:
            if isinstance(e, SystemExit):
                raise
            return report_error(e, debug="--debug" in rest)
        print(f"wrote {site} (open {site / 'index.html'}, or serve it: python -m http.server -d {site})")
        return 0
    if command in ("-h", "--help"):
        print(__doc__)
        return 0
    print(f"error: expected a command, build, serve or model; got {command or 'none'!r} (see --help)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
