"""
rl-baselines3-zoo entry point: ``python -m sb3_vpg.zoo <command> [rl_zoo3 arguments]``.

rl_zoo3 has no plugin API: it checks ``--algo`` against ``rl_zoo3.utils.ALGOS`` when it builds its argument
parser. So we add ``reinforce`` and ``vpg`` to that dict (every rl_zoo3 module shares the same object), then hand
over to rl_zoo3's own command with its arguments unchanged. ``train`` with one of our algorithms and no
``-conf`` uses the configs shipped in ``sb3_vpg.zoo_configs`` (also from an installed wheel).
"""

import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sb3_vpg import NonFiniteError
from sb3_vpg.common.extras import MissingExtraError, extra_needed
from sb3_vpg.common.validation import ArgumentValueError
from sb3_vpg.zoo.arguments import (
    MASKABLE_ZOO_ALGOS,
    ZOO_ALGOS,
    ZooArgumentError,
    default_config,
    with_checked_params,
    with_default_config,
    zoo_algorithms,
)
from sb3_vpg.zoo.patches import (
    card_for_sb3_vpg,
    cards_for_sb3_vpg,
    ffmpeg_on_path,
    generate_metadata_by_its_old_name,
    masked_evaluation,
    read_rollout_buffer_class_by_name,
    record_videos_through_us,
)

__all__ = [
    "COMMANDS",
    "MASKABLE_ZOO_ALGOS",
    "ZOO_ALGOS",
    "ZooArgumentError",
    "card_for_sb3_vpg",
    "default_config",
    "main",
    "register",
    "run",
    "with_checked_params",
    "with_default_config",
]

# rl_zoo3's commands that we hand over to, and what each does
COMMANDS = {
    "train": "train an agent, or tune its hyperparameters with -optimize (rl_zoo3.train)",
    "enjoy": "run a trained agent and report its episode rewards (rl_zoo3.enjoy)",
    "record_video": "record a video of a trained agent (rl_zoo3.record_video)",
    "plot_train": "show the training curves of one run in a window (rl_zoo3.plots.plot_train)",
    "all_plots": "gather the evaluations of several runs, print a table, and pickle them with -o (rl_zoo3.plots.all_plots)",
    "plot_from_file": "plot a pickle written by all_plots; -o saves its last figure (rl_zoo3.plots.plot_from_file)",
    "record_training": "a video of every checkpoint of a run, joined with ffmpeg (rl_zoo3.record_training)",
    "push_to_hub": "evaluate an agent, write its model card, upload it to the Hugging Face Hub (rl_zoo3.push_to_hub)",
    "load_from_hub": "download a trained agent from the Hugging Face Hub into a log folder (rl_zoo3.load_from_hub)",
}
# rl_zoo3's commands that are scripts (their arguments are parsed under ``if __name__ == "__main__"``)
SCRIPT_COMMANDS = ("record_video", "record_training", "push_to_hub", "load_from_hub")
USAGE = f"usage: python -m sb3_vpg.zoo {{{','.join(COMMANDS)}}} [rl_zoo3 arguments]"
HELP = "\n".join(
    [
        USAGE,
        "",
        "rl-baselines3-zoo with REINFORCE and VPG added as --algo reinforce / vpg (and, with action masks and an",
        "entry of your own given with -conf, reinforce_mask / vpg_mask); every argument after the command goes to",
        "rl_zoo3 unchanged ('python -m sb3_vpg.zoo <command> --help' lists them).",
        "",
        "commands:",
        *(f"  {name:<15} {description}" for name, description in COMMANDS.items()),
    ]
)


def register() -> None:
    """Make ``reinforce`` and ``vpg`` (and the masked ``reinforce_mask`` and ``vpg_mask``) known to rl_zoo3: its
    algorithm table and its Optuna sampler tables."""
    from rl_zoo3 import hyperparams_opt, utils

    import sb3_vpg.pong  # noqa: F401  # registers KarpathyPolicy and the KarpathyPong env ids that our configs name
    from sb3_vpg.zoo.hyperparams_opt import convert_reinforce_params, sample_reinforce_params, sample_vpg_params

    utils.ALGOS.update(zoo_algorithms())
    hyperparams_opt.HYPERPARAMS_SAMPLER.update(
        reinforce=sample_reinforce_params, vpg=sample_vpg_params,
        reinforce_mask=sample_reinforce_params, vpg_mask=sample_vpg_params,
    )  # fmt: skip
    hyperparams_opt.HYPERPARAMS_CONVERTER.update(dict.fromkeys((*ZOO_ALGOS, *MASKABLE_ZOO_ALGOS), convert_reinforce_params))
    read_rollout_buffer_class_by_name()


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(HELP)
        raise SystemExit(0)
    if not args or args[0] not in COMMANDS:
        problem = f"unknown command {args[0]!r}" if args else "no command given"
        print(f"{HELP}\n\npython -m sb3_vpg.zoo: error: {problem}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        raise SystemExit(2)
    command, args = args[0], args[1:]
    try:
        with extra_needed():
            run(command, args)
    except MissingExtraError as error:
        print(f"python -m sb3_vpg.zoo {command}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def run(command: str, args: list[str]) -> None:
    """Register our algorithms and hand ``command`` over to rl_zoo3 with ``args``."""
    register()
    if command == "train":
        with _train_errors_in_one_line():
            args = with_checked_params(with_default_config(args))
            sys.argv = [f"python -m sb3_vpg.zoo {command}", *args]
            from rl_zoo3.train import train

            with masked_evaluation(args):
                train()
        return
    sys.argv = [f"python -m sb3_vpg.zoo {command}", *args]
    if command == "record_training":
        with record_videos_through_us(), ffmpeg_on_path():
            runpy.run_module("rl_zoo3.record_training", run_name="__main__")
    elif command == "push_to_hub":
        with generate_metadata_by_its_old_name(), cards_for_sb3_vpg():
            runpy.run_module("rl_zoo3.push_to_hub", run_name="__main__")
    elif command in SCRIPT_COMMANDS:
        runpy.run_module(f"rl_zoo3.{command}", run_name="__main__")
    elif command == "enjoy":
        from rl_zoo3.enjoy import enjoy

        enjoy()
    else:
        from rl_zoo3 import plots

        getattr(plots, command)()


@contextmanager
def _train_errors_in_one_line() -> Iterator[None]:
    """A refused option or hyperparameter (both name it) is one line and exit code 2, as argparse's; a run that
    diverged is ``NonFiniteError``'s line and exit code 1: a traceback adds nothing to either."""
    try:
        yield
    except (ZooArgumentError, ArgumentValueError) as error:
        print(f"python -m sb3_vpg.zoo train: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except NonFiniteError as error:
        print(f"python -m sb3_vpg.zoo train: training stopped: {error}", file=sys.stderr)
        raise SystemExit(1) from None
