"""
rl-baselines3-zoo entry point: ``python -m sb3_vpg.zoo <command> [rl_zoo3 arguments]``.

rl_zoo3 has no plugin API: it checks ``--algo`` against ``rl_zoo3.utils.ALGOS`` when it builds its argument
parser. So we add ``reinforce`` and ``vpg`` to that dict (every rl_zoo3 module shares the same object), then hand
over to rl_zoo3's own command with its arguments unchanged. ``train`` with one of our algorithms and no
``-conf`` uses the configs shipped in ``sb3_vpg.zoo_configs`` (also from an installed wheel).
"""

import runpy
import sys
from importlib import resources

from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_vpg import REINFORCE, VPG

ZOO_ALGOS: dict[str, type[BaseAlgorithm]] = {"reinforce": REINFORCE, "vpg": VPG}
# rl_zoo3's commands that we hand over to, and what each does
COMMANDS = {
    "train": "train an agent, or tune its hyperparameters with -optimize (rl_zoo3.train)",
    "enjoy": "run a trained agent and report its episode rewards (rl_zoo3.enjoy)",
    "record_video": "record a video of a trained agent (rl_zoo3.record_video)",
    "plot_train": "show the training curves of one run in a window (rl_zoo3.plots.plot_train)",
    "all_plots": "gather the evaluations of several runs, print a table, and pickle them with -o (rl_zoo3.plots.all_plots)",
    "plot_from_file": "plot a pickle written by all_plots; -o saves its last figure (rl_zoo3.plots.plot_from_file)",
}
USAGE = f"usage: python -m sb3_vpg.zoo {{{','.join(COMMANDS)}}} [rl_zoo3 arguments]"
HELP = "\n".join(
    [
        USAGE,
        "",
        "rl-baselines3-zoo with REINFORCE and VPG added as --algo reinforce / vpg; every argument after the",
        "command goes to rl_zoo3 unchanged ('python -m sb3_vpg.zoo <command> --help' lists them).",
        "",
        "commands:",
        *(f"  {name:<15} {description}" for name, description in COMMANDS.items()),
    ]
)


def register() -> None:
    """Make ``reinforce`` and ``vpg`` known to rl_zoo3: its algorithm table and its Optuna sampler tables."""
    from rl_zoo3 import hyperparams_opt, utils

    from sb3_vpg.zoo.hyperparams_opt import convert_reinforce_params, sample_reinforce_params, sample_vpg_params

    utils.ALGOS.update(ZOO_ALGOS)
    hyperparams_opt.HYPERPARAMS_SAMPLER.update(reinforce=sample_reinforce_params, vpg=sample_vpg_params)
    hyperparams_opt.HYPERPARAMS_CONVERTER.update(reinforce=convert_reinforce_params, vpg=convert_reinforce_params)


def default_config(algo: str) -> str:
    """Path of the shipped hyperparameter file for one of our algorithms."""
    config = resources.files("sb3_vpg.zoo_configs") / f"{algo}.yml"
    return str(config)


def _algo_argument(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--algo" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--algo="):
            return arg.split("=", 1)[1]
    return None


def with_default_config(args: list[str]) -> list[str]:
    """Add ``-conf <shipped yml>`` when training one of our algorithms without a config of the user's."""
    algo = _algo_argument(args)
    has_config = any(arg in ("-conf", "--conf-file") or arg.startswith("--conf-file=") for arg in args)
    if algo in ZOO_ALGOS and not has_config:
        return [*args, "-conf", default_config(algo)]
    return args


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
    register()
    if command == "train":
        args = with_default_config(args)
    sys.argv = [f"python -m sb3_vpg.zoo {command}", *args]
    if command == "record_video":  # a bare __main__ script in rl_zoo3
        runpy.run_module("rl_zoo3.record_video", run_name="__main__")
    elif command == "train":
        from rl_zoo3.train import train

        train()
    elif command == "enjoy":
        from rl_zoo3.enjoy import enjoy

        enjoy()
    else:
        from rl_zoo3 import plots

        getattr(plots, command)()
