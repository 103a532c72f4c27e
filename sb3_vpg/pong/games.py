"""Full games with a saved Pong agent: play them, record one as a GIF, export the agent's weights."""

from collections import deque
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.utils import set_random_seed

from sb3_vpg import REINFORCE
from sb3_vpg.common.capabilities import rollout_actor
from sb3_vpg.common.files import replaced_whole


def load_agent(path: str | Path, env: gym.Env | None = None) -> REINFORCE:
    """A saved REINFORCE or VPG Pong agent (VPG is a REINFORCE with other defaults: the same acting code), checked
    against the env it is to play where one is given."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"--model {path}: no such file (a .zip that REINFORCE or VPG saved)")
    model = REINFORCE.load(path, device="cpu")
    if env is not None:
        for what, theirs, ours in (("observations", model.observation_space, env.observation_space),
                                   ("actions", model.action_space, env.action_space)):  # fmt: skip
            if theirs != ours:
                raise ValueError(
                    f"--model {path}: was trained on {what} {theirs}, but {env.spec.id if env.spec else 'the env'} has "
                    f"{ours}; pass an agent trained on this env (--env)"
                )
    return model


def stochastic_actions(model: REINFORCE) -> Callable[[np.ndarray], int]:
    """
    Karpathy's way of playing: each action sampled from the policy (UP with probability P(UP)), with torch's global
    generator. Through the policy's rollout actor where it offers one (the same draws, far less overhead).
    """
    actor = rollout_actor(model.policy)  # a snapshot: the weights do not change while playing

    def act(observation: np.ndarray) -> int:
        if actor is not None:
            actions, _ = actor.sample(observation[np.newaxis])
            return int(actions[0])
        action, _ = model.predict(observation, deterministic=False)
        return int(action)

    return act


def play_game(env: gym.Env, act: Callable[[np.ndarray], int], seed: int | None = None,
              on_step: Callable[[], None] | None = None) -> tuple[int, int]:  # fmt: skip
    """One full game; the points won by the agent and by the built-in AI."""
    observation, _ = env.reset(seed=seed)
    points = [0, 0]
    done = False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(act(observation))
        if reward != 0:
            points[0 if float(reward) > 0 else 1] += 1
        if on_step is not None:
            on_step()
        done = terminated or truncated
    return points[0], points[1]


def _game_line(game: int, agent: int, ai: int) -> str:
    return f"game {game}: score {agent - ai:+d} ({'won' if agent > ai else 'lost'} {agent}-{ai})"


def play_games(model_path: str | Path, env_id: str, games: int, seed: int) -> list[int]:
    """Play ``games`` full games, print each score and the mean; the scores (agent minus AI)."""
    th.set_num_threads(1)
    env = gym.make(env_id)
    act = stochastic_actions(load_agent(model_path, env))
    set_random_seed(seed)  # after loading, which seeds the generators with the model's training seed
    scores = []
    for game in range(1, games + 1):
        agent, ai = play_game(env, act, seed=seed if game == 1 else None)
        scores.append(agent - ai)
        print(_game_line(game, agent, ai), flush=True)
    won = sum(score > 0 for score in scores)
    print(f"mean score over {len(scores)} games: {np.mean(scores):+.2f} (won {won} of {len(scores)})")
    return scores


def gif_frames(fps: float, seconds: float) -> int:
    """The frames of a GIF of ``seconds`` at ``fps`` (at least one)."""
    return max(int(seconds * fps), 1)


def record_gif(
    model_path: str | Path, env_id: str, out: Path, seed: int, tries: int, seconds: float, fps: float, every: int
) -> int:
    """Play games until the agent wins one (or ``tries`` games), then write the end of that game (or of its best
    game) as a GIF of ``seconds`` at ``fps``, keeping every ``every``-th agent step; the game's score."""
    from PIL import Image

    th.set_num_threads(1)
    env = gym.make(env_id, render_mode="rgb_array")
    act = stochastic_actions(load_agent(model_path, env))
    set_random_seed(seed)  # after loading, which seeds the generators with the model's training seed
    n_frames = gif_frames(fps, seconds)
    best: tuple[int, list[np.ndarray]] | None = None
    for game in range(1, tries + 1):
        frames: deque[np.ndarray] = deque(maxlen=n_frames * every)  # the end of the game only

        def keep_frame(frames: deque[np.ndarray] = frames) -> None:
            frames.append(env.render())  # type: ignore[arg-type]

        agent, ai = play_game(env, act, seed=seed if game == 1 else None, on_step=keep_frame)
        print(_game_line(game, agent, ai), flush=True)
        if best is None or agent - ai > best[0]:
            best = (agent - ai, list(frames)[::every])
        if agent > ai:
            break
    assert best is not None
    images = [Image.fromarray(frame).quantize(colors=32) for frame in best[1]]
    with replaced_whole(out) as temporary:
        images[0].save(temporary, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    what = "a game it won" if best[0] > 0 else f"no game won in {tries}: its best game"
    print(f"wrote {out}: the last {len(images) / fps:.0f} s of {what} (score {best[0]:+d})")
    return best[0]


def export_path(out: Path) -> Path:
    """The file ``export_weights`` writes for ``out``: with ``.zip`` added where it has no suffix, as SB3's ``save``."""
    return out if out.suffix else out.with_name(out.name + ".zip")


def export_weights(model_path: str | Path, out: Path) -> Path:
    """
    Write a saved agent without its optimizer states (RMSProp's running averages are as large as the weights; a
    VPG's value optimizer too): the policy weights, its settings and counters, and fresh optimizers of the same
    kind. ``REINFORCE.load`` reads it as any saved model; training it further starts the optimizers afresh.

    :return: The file written (``out``, with ``.zip`` added where it has no suffix, as SB3's ``save`` does)
    """
    out = export_path(out)
    if out.is_dir():
        raise IsADirectoryError(f"--out {out}: is a folder; pass the .zip file to write")
    model = load_agent(model_path)
    model.policy.optimizer = _fresh(model.policy.optimizer)
    if model.value_optimizer is not None:
        model.value_optimizer = _fresh(model.value_optimizer)
    try:
        with replaced_whole(out) as temporary:
            model.save(temporary)
    except OSError as error:  # a read-only folder, a file where a folder should be: the same error, naming --out
        raise type(error)(f"--out {out}: cannot be written ({error.strerror or error})") from None
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB; {model_path}: {Path(model_path).stat().st_size / 1e6:.1f} MB)")
    return out


def _fresh(optimizer: th.optim.Optimizer) -> th.optim.Optimizer:
    """An optimizer of the same kind and settings over the same parameters, without state."""
    return type(optimizer)([p for group in optimizer.param_groups for p in group["params"]], **optimizer.defaults)
