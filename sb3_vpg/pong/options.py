"""The options of ``python -m sb3_vpg.pong train``, written once: each is a field of :class:`TrainOptions` with its
help and type; the parser is built from the fields and parsed back into them. The only module that knows argparse."""

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sb3_vpg.pong.configs import PRESETS
from sb3_vpg.pong.vec_env import MAX_GAME_SEED
from sb3_vpg.pong.wrappers import KARPATHY_PONG_CLASSIC_ID, KARPATHY_PONG_ID

ENV_IDS = (KARPATHY_PONG_ID, KARPATHY_PONG_CLASSIC_ID)


def _number(kind: type, low: float, inclusive: bool, what: str, high: float = math.inf) -> Callable[[str], int | float]:
    """An argparse type: a finite ``kind`` number >= ``low`` (> with ``inclusive=False``) and <= ``high``, named
    ``what`` in errors."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value >= low if inclusive else value > low) or not math.isfinite(value) or value > high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type by it in its messages
    return parse


POSITIVE_INT = _number(int, 1, True, "a positive integer")


NON_NEGATIVE_INT = _number(int, 0, True, "an integer >= 0")


POSITIVE_FLOAT = _number(float, 0, False, "a positive finite number")


# ale-py seeds each game with a 31-bit integer (its vector env refuses more)
GAME_SEED = _number(int, 0, True, f"an integer in [0, {MAX_GAME_SEED:,}] (ALE's game seeds)", high=MAX_GAME_SEED)


# games at once: each a subprocess with its pipes (SubprocVecEnv) or an emulator with its frames (KarpathyPongVecEnv)
MAX_GAMES = 256


GAMES = _number(int, 1, True, f"a number of games from 1 to {MAX_GAMES}", high=MAX_GAMES)


def _option(
    help: str, default: Any = None, *, flag: str | None = None, record: str | None = None, **argparse_kwargs: Any
) -> Any:
    """
    A field of :class:`TrainOptions` and its command-line option (``--<name>`` or ``flag``). ``record`` marks the
    run's settings, which ``state.json`` records: ``"fixed"`` (a resume that gives another value is refused) or
    ``"changeable"`` (a resume that gives one applies it and records it).
    """
    return field(default=default, metadata={"help": help, "flag": flag, "record": record, "argparse": argparse_kwargs})


@dataclass
class TrainOptions:
    """
    What ``python -m sb3_vpg.pong train`` is asked for, one field per option (the command line is built from these
    fields); None: not given (a new run's default, or what a resumed run recorded). The fields marked ``record`` are
    the run's settings: a new run resolves them (:meth:`for_new_run`) and ``state.json`` records them.
    """

    env_id: str | None = _option(f"env of a new run ({KARPATHY_PONG_ID} if not given)", flag="--env", record="fixed",
                                 choices=ENV_IDS)  # fmt: skip
    config: str | None = _option(
        "a new run's configuration (karpathy if not given). "
        + "; ".join(f"{name}: {preset.summary}" for name, preset in PRESETS.items()),
        record="fixed",
        choices=tuple(PRESETS),
    )
    n_envs: int | None = _option(
        "games played at once (default 1; on KarpathyPongVecEnv "
        + ", ".join(f"{preset.n_envs} with --config {name}" for name, preset in PRESETS.items() if preset.n_envs > 1)
        + ")",
        record="changeable",
        type=GAMES,
    )
    vector_env: bool = _option("KarpathyPongVecEnv instead of Dummy/SubprocVecEnv", False, record="changeable",
                               action="store_true")  # fmt: skip
    ray_address: str | None = _option(
        "play the games in Ray actors (RayVecEnv, the [ray] extra), one per game, on the cluster at this address: "
        "'auto' joins the cluster this machine belongs to (ray start), 'local' starts one in this process. For this "
        "session; it plays them as Dummy/SubprocVecEnv would, not on KarpathyPongVecEnv",
        metavar="ADDRESS",
    )
    n_episodes: int | None = _option(
        "episodes per update (default: the config's: 10; not for points, which updates every 512 steps)", type=POSITIVE_INT
    )
    seed: int | None = _option(
        "seed of a new run (0 if not given; its envs get seed, seed + 1, ...; resumed: seed + episodes ...)",
        record="fixed",
        type=GAME_SEED,
    )
    hours: float = _option("wall-clock budget of this session", 1.0, type=POSITIVE_FLOAT)
    max_updates: int | None = _option("stop after this many updates of this session (no limit if not given)",
                                      flag="--updates", type=POSITIVE_INT)  # fmt: skip
    max_steps: int = _option("total agent-step budget over all sessions", 10**9, type=POSITIVE_INT)
    checkpoint_every: int = _option("updates between checkpoints", 10, type=POSITIVE_INT)
    print_every: int = _option("updates between progress lines", 1, type=POSITIVE_INT)

    def for_new_run(self) -> "TrainOptions":
        """The options with a new run's settings filled in: the preset's games at once (on ale-py's threads where
        the env allows) unless ``n_envs`` is given, env, config and seed defaults."""
        env_id, config = self.env_id or KARPATHY_PONG_ID, self.config or "karpathy"
        n_envs, vector_env = self.n_envs or 1, self.vector_env
        preset = PRESETS[config]
        if preset.n_envs > 1 and self.n_envs is None:
            n_envs, vector_env = preset.n_envs, vector_env or (env_id == KARPATHY_PONG_ID and self.ray_address is None)
        return replace(self, env_id=env_id, config=config, n_envs=n_envs, vector_env=vector_env, seed=self.seed or 0)


RECORDED = {option.name: option.metadata["record"] for option in fields(TrainOptions) if option.metadata["record"]}


FLAGS = {option.name: option.metadata["flag"] or "--" + option.name.replace("_", "-") for option in fields(TrainOptions)}


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """One command-line option per field of :class:`TrainOptions`."""
    for option in fields(TrainOptions):
        flag = FLAGS[option.name]
        spec: dict[str, Any] = dict(option.metadata["argparse"])
        if "type" in spec:
            spec["metavar"] = flag.lstrip("-").replace("-", "_").upper()
        parser.add_argument(flag, dest=option.name, default=option.default, help=option.metadata["help"], **spec)


def train_options(args: argparse.Namespace) -> TrainOptions:
    """The :class:`TrainOptions` of parsed arguments."""
    return TrainOptions(**{option.name: getattr(args, option.name) for option in fields(TrainOptions)})
