"""
Long, resumable training of Karpathy's Pong from Pixels agent (2016, http://karpathy.github.io/2016/05/31/rl/):
its exact configuration, or a preset (``--config fast``, ``--config points``), and games with a saved agent.

    python -m sb3_vpg.pong train --out runs/karpathy --hours 2     # resumes if runs/karpathy exists
    python -m sb3_vpg.pong plot --out runs/karpathy                # learning_curve.png from the CSV
    python -m sb3_vpg.pong play --model agent.zip --games 20          # full games, each score and the mean
    python -m sb3_vpg.pong record --model agent.zip --out game.gif    # the end of a game it wins
    python -m sb3_vpg.pong export --model runs/karpathy/model-800.zip --out agent.zip   # weights only

A run folder holds the last complete checkpoint (``model-<update>.zip`` and ``state.json``, written every
``--checkpoint-every`` updates and at the end) and ``episodes.csv`` (one row per finished episode with its score and
the running reward). A run killed at any moment resumes from its last complete checkpoint; SIGTERM (``kill <pid>``)
and Ctrl-C stop it at the next step with a final checkpoint (a second Ctrl-C aborts at once). Options given when a
run resumes are applied and recorded (``--n-envs``, ``--vector-env``, ``--n-episodes``) or refused where the run
cannot change (``--env``, ``--config``, ``--seed``).
"""

import argparse
import json
import sys
from pathlib import Path

from sb3_vpg.common.extras import MissingExtraError, extra_needed
from sb3_vpg.common.files import replaced_whole
from sb3_vpg.pong.options import (
    ENV_IDS,
    GAME_SEED,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    TrainOptions,
    add_train_options,
    train_options,
)
from sb3_vpg.pong.run import train_run
from sb3_vpg.pong.run_folder import EPISODES_FILE, STATE_FILE, RunFolderError, read_episodes, read_state
from sb3_vpg.pong.wrappers import KARPATHY_PONG_ID


def train(args: argparse.Namespace) -> None:
    train_run(Path(args.out), train_options(args))


def plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    if not (out / EPISODES_FILE).is_file():
        raise RunFolderError(f"{out / EPISODES_FILE}: is missing; pass --out a run folder of 'train'")
    rows = read_episodes(out)
    state = read_state(out) if (out / STATE_FILE).exists() else None
    settings = TrainOptions().for_new_run() if state is None else state.settings  # a run without a checkpoint yet
    env_id, config = settings.env_id, settings.config
    episodes = [row["episode"] for row in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(episodes, [row["score"] for row in rows], ".", markersize=2, alpha=0.3, label="episode score")
    ax.plot(episodes, [row["running_reward"] for row in rows], label="running reward (0.99)")
    hours = rows[-1]["wall_seconds"] / 3600 if rows else 0.0
    ax.set_title(f"{config} configuration on {env_id}: {len(rows)} episodes, {hours:.1f} h")
    ax.set_xlabel("episode")
    ax.set_ylabel("game score (-21..21)")
    ax.axhline(0, color="grey", linestyle=":")
    ax.legend()
    fig.tight_layout()
    path = out / "learning_curve.png"
    with replaced_whole(path) as temporary:
        fig.savefig(temporary, dpi=100)
    print(f"wrote {path}")


def play(args: argparse.Namespace) -> None:
    from sb3_vpg.pong.games import play_games

    play_games(args.model, args.env, args.games, args.seed)


# A GIF stores each frame's delay in 16 bits of centiseconds: 10 ms to 655.35 s a frame
GIF_FPS_RANGE = (1 / 655.35, 100.0)
GIF_MAX_FRAMES = 10_000
# record_gif keeps every agent step's raw 210x160x3 frame of the game's end (100 kB each) until the GIF is written
MAX_KEPT_FRAMES = 20_000


def check_gif_options(fps: float, seconds: float, every: int) -> None:
    """The GIF options that argparse accepts but a GIF or the machine cannot take, refused naming the option."""
    low, high = GIF_FPS_RANGE
    if not low <= fps <= high:
        raise ValueError(
            f"--fps {fps:g}: a GIF plays {low:.4f} to {high:g} frames a second (its frame delay is 10 ms to 655 s)"
        )
    from sb3_vpg.pong.games import gif_frames

    frames = gif_frames(fps, seconds)
    if frames > GIF_MAX_FRAMES:
        raise ValueError(f"--seconds {seconds:g} at --fps {fps:g} is {frames:,} frames; a GIF of at most {GIF_MAX_FRAMES:,}")
    if frames * every > MAX_KEPT_FRAMES:
        raise ValueError(
            f"--every {every} with --seconds {seconds:g} at --fps {fps:g} keeps {frames * every:,} game frames in memory "
            f"(100 kB each); at most {MAX_KEPT_FRAMES:,}"
        )


def record(args: argparse.Namespace) -> None:
    from sb3_vpg.pong.games import load_agent, record_gif

    out = Path(args.out)
    # checked before any game is played
    check_gif_options(args.fps, args.seconds, args.every)
    if out.suffix.lower() != ".gif":
        raise ValueError(f"--out {out}: must be a .gif file")
    check_out_file(out)
    load_agent(args.model)  # a missing or unreadable model, before the games
    record_gif(args.model, args.env, out, args.seed, args.tries, args.seconds, args.fps, args.every)


def check_out_file(out: Path) -> None:
    """
    ``--out`` names a file that can be written (created, or appended to, and left as it was): a missing or
    read-only folder, or a name the filesystem refuses (too long, ...), ends here in one line naming ``--out``.
    """
    try:
        if out.parent.exists() and not out.parent.is_dir():
            raise NotADirectoryError(f"--out {out}: {out.parent} is a file, not a folder")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"--out {out}: the folder {out.parent} does not exist")
        if out.is_dir():
            raise IsADirectoryError(f"--out {out}: is a folder; pass the file to write")
        existed = out.exists()
        with open(out, "ab"):
            pass
    except OSError as error:
        if str(error).startswith("--out "):
            raise
        raise type(error)(f"--out {out}: cannot be written ({error.strerror or error})") from None
    if not existed:
        out.unlink()


def export(args: argparse.Namespace) -> None:
    from sb3_vpg.pong.games import export_path, export_weights

    out = export_path(Path(args.out))
    check_out_file(out)
    export_weights(args.model, out)


class _ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None (those options say in their help what happens without them)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    defaults = _ShowDefaults
    parser = argparse.ArgumentParser(
        "python -m sb3_vpg.pong", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train (or resume) a run", formatter_class=defaults)
    train_parser.add_argument("--out", required=True, help="run folder: checkpoint, state.json, episodes.csv")
    add_train_options(train_parser)
    plot_parser = commands.add_parser("plot", help="draw <out>/learning_curve.png from episodes.csv", formatter_class=defaults)
    plot_parser.add_argument("--out", required=True, help="run folder")
    play_parser = commands.add_parser("play", help="play full games with a saved agent, print each score and the mean",
                                      formatter_class=defaults)  # fmt: skip
    record_parser = commands.add_parser("record", help="record the end of a game the agent wins as a GIF",
                                        formatter_class=defaults)  # fmt: skip
    for game_parser in (play_parser, record_parser):
        game_parser.add_argument("--model", required=True, help="a saved REINFORCE/VPG Pong agent (.zip)")
        game_parser.add_argument(
            "--env", choices=ENV_IDS, default=KARPATHY_PONG_ID, help="env to play on (the one it trained on)"
        )
        game_parser.add_argument("--seed", type=GAME_SEED, default=0, help="seed of the env and of the action sampling")
    play_parser.add_argument("--games", type=POSITIVE_INT, default=20, help="full games (to 21 points) to play")
    record_parser.add_argument("--out", required=True, help="GIF file to write")
    record_parser.add_argument("--tries", type=POSITIVE_INT, default=10, help="games to play at most until one is won")
    record_parser.add_argument("--seconds", type=POSITIVE_FLOAT, default=20.0, help="length of the GIF (the end of the game)")
    record_parser.add_argument("--fps", type=POSITIVE_FLOAT, default=15.0, help="GIF frames per second")
    record_parser.add_argument("--every", type=POSITIVE_INT, default=2, help="keep every N-th agent step as a frame")
    export_parser = commands.add_parser("export", help="a saved agent without its optimizer state (policy weights only)",
                                        formatter_class=defaults)  # fmt: skip
    export_parser.add_argument("--model", required=True, help="a saved REINFORCE/VPG Pong agent or checkpoint (.zip)")
    export_parser.add_argument("--out", required=True, help="the .zip to write (.zip is added where it has no suffix)")
    return parser


# What a user can fix: each ends the command with one line, not a traceback (a file's errors name the file)
USER_ERRORS = (
    RunFolderError,
    MissingExtraError,
    OSError,  # a file's: missing, a folder, not writable, a name the filesystem refuses
    ValueError,
    json.JSONDecodeError,
)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    command = {"train": train, "plot": plot, "play": play, "record": record, "export": export}[args.command]
    try:
        with extra_needed():
            command(args)
    except USER_ERRORS as error:
        # One line that says what is wrong and what to do, not a traceback from deep inside a library
        print(f"python -m sb3_vpg.pong {args.command}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # a second Ctrl-C
        print(f"python -m sb3_vpg.pong {args.command}: aborted; a run keeps its last complete checkpoint", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
