"""The `autodl` command: a registry of subcommands, one module each, imported lazily.

Command modules define `add_arguments(parser)` and `run(args) -> int`, and import
nothing heavy at module level, so `autodl --help` never loads Keras or TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings
from collections.abc import Sequence

from autodl.exceptions import AutodlError, closest
from autodl.train._hypermodel_fit import SearchStopped  # light: no Keras at import

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "search": ("autodl.cli.search", "search a space on data and export the best model"),
    "init": ("autodl.cli.init", "write editable copies of the built-in search spaces"),
    "worker": ("autodl.cli.worker", "join an existing study (any machine) and run its trials"),
    "export": ("autodl.cli.export", "export a study's best model, optionally retrained, with a card"),
    "predict": ("autodl.cli.predict", "predict with an exported model on new tables, arrays or images"),
    "generate": ("autodl.cli.generate", "sample images, text or sequences from an exported generative model"),
    "leaderboard": ("autodl.cli.leaderboard", "print the ranking of a study's trials (table, csv or json)"),
    "studies": ("autodl.cli.studies", "list the studies in a storage with their trial counts"),
    "report": ("autodl.cli.report", "write report.html for a study from its storage"),
    "dashboard": ("autodl.cli.dashboard", "start optuna-dashboard on a storage (127.0.0.1)"),
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line that suggests the closest valid one."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.startswith("unrecognized arguments:"):
            bad = message.split(":", 1)[1].split()[0]
            message = f"unrecognized argument {bad}{closest(bad.split('=')[0], self._flags())}"
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def _flags(self) -> list[str]:
        return [flag for action in self._actions for flag in action.option_strings if not _hidden(action)]


def _hidden(action: argparse.Action) -> bool:
    return action.help == argparse.SUPPRESS


def build_parser() -> ArgumentParser:
    from autodl import __version__

    parser = ArgumentParser(
        prog="autodl",
        description="Find good Keras models for your data with Optuna.",
        epilog="Run 'autodl COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"autodl {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text.capitalize() + ".")
        sub.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
        sub.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the command's own parser names the closest of its flags
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        (commands.choices.get(getattr(args, "command", None)) or parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if not getattr(args, "_module", None):
        parser.print_help()
        return EXIT_USAGE
    if argv is None:  # the program itself, not a caller of main() from Python
        from autodl import _process

        _process.IS_COMMAND = True
    debug = bool(getattr(args, "debug", False))
    if not debug:  # Optuna flags its own features (TPE's group, metric names) as experimental
        warnings.filterwarnings("ignore", message=r".*(experimental feature|is experimental)")
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(importlib.import_module(args._module).run(args) or EXIT_OK)
    except AutodlError as exc:
        if debug:
            raise
        print(f"autodl {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SearchStopped as exc:  # e.g. KerasTuner's FatalError in the user's code
        if debug:
            raise
        print(f"autodl {args.command}: stopped: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            raise
        print(
            f"autodl {args.command}: unexpected error: {type(exc).__name__}: {exc}\n"
            "(this is a bug in autodl; rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
