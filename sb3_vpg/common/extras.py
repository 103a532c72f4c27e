"""Which optional extra of sb3-vpg brings a module: a missing extra is named in one line, not a raw traceback."""

from collections.abc import Iterator
from contextlib import contextmanager

# Top-level module -> (the extra that installs it, what needs it)
EXTRAS = {
    "ale_py": ("atari", "Atari/Pong (ale-py, which ships the ROMs)"),
    "Box2D": ("box2d", "LunarLander-v3 and the other Box2D envs"),
    "mujoco": ("mujoco", "the MuJoCo envs (InvertedPendulum-v5, HalfCheetah-v5, ...)"),
    "rl_zoo3": ("zoo", "the rl_zoo3 entry point (python -m sb3_vpg.zoo)"),
    "optuna": ("zoo", "hyperparameter tuning"),
    "sb3_contrib": ("masks", "MaskableREINFORCE and MaskableVPG (sb3-contrib's maskable policies)"),
    "ray": ("ray", "RayVecEnv (the envs of one run on a Ray cluster, e.g. python -m sb3_vpg.pong train --ray-address)"),
}
INSTALL = 'pip install -c constraints.txt -e ".[{extra}]" in a clone of sb3-vpg'


class MissingExtraError(ModuleNotFoundError):
    """A module of one of sb3-vpg's optional extras is not installed; the message names the extra."""


def missing_extra_message(module: str) -> str | None:
    """One line naming the extra that installs ``module`` (a top-level module name), or None if none does."""
    if module not in EXTRAS:
        return None
    extra, what = EXTRAS[module]
    return f"{what} needs the [{extra}] extra ({module} is not installed): {INSTALL.format(extra=extra)}"


@contextmanager
def extra_needed() -> Iterator[None]:
    """Turn a ``ModuleNotFoundError`` (or gymnasium's ``DependencyNotInstalled``) for a module of one of the extras
    into a :class:`MissingExtraError` that names the extra."""
    from gymnasium.error import DependencyNotInstalled

    try:
        yield
    except ModuleNotFoundError as error:
        message = missing_extra_message((error.name or "").split(".")[0])
        if message is None or isinstance(error, MissingExtraError):
            raise
        raise MissingExtraError(message, name=error.name) from error
    except DependencyNotInstalled as error:
        # gymnasium advises gymnasium[box2d], whose pygame-ce clashes with the zoo's pygame: name ours instead
        module = next((name for name in EXTRAS if name.lower() in str(error).lower()), None)
        message = None if module is None else missing_extra_message(module)
        if message is None:
            raise
        raise MissingExtraError(message, name=module) from error
