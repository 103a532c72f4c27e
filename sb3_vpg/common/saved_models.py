"""
What loading a saved model needs beyond SB3's ``load``: settings of models saved by older sb3-vpg releases read
into today's form, optimizer states that no longer fit the model being loaded, and a clear word when the file was
saved by another algorithm.
"""

import io
import json
import pathlib
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch as th
from stable_baselines3.common.save_util import open_path

from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer

# Options REINFORCE passes to its buffer from its own arguments (0.3 saved them in rollout_buffer_kwargs)
ALGORITHM_BUFFER_KWARGS = ("bootstrap_incomplete", "reset_on_reward", "normalize_advantage", "gamma", "gae_lambda")

# Attributes of other algorithms' saved files that the loading class does not have: which algorithm saved it, how
# to load it
_FOREIGN_ATTRIBUTES = {
    "use_masking": ("sb3-vpg's MaskableREINFORCE or MaskableVPG", "MaskableREINFORCE.load(...) or MaskableVPG.load(...)"),
    "clip_range": ("PPO (or sb3-contrib's MaskablePPO/RecurrentPPO)", "PPO.load(...)"),
    "cg_max_steps": ("sb3-contrib's TRPO", "sb3_contrib.TRPO.load(...)"),
    "learning_starts": ("an off-policy algorithm", "its own class, e.g. DQN.load(...) or SAC.load(...)"),
}
_A2C = ("A2C", "A2C.load(...)")

# Modules whose classes moved in sb3-vpg 0.2 and whose old paths were removed in 0.4.0: a model saved by 0.1 names
# its policy class by the old path
REMOVED_MODULES = {
    "sb3_vpg.common.policies": "sb3_vpg.pong.policies",
    "sb3_vpg.common.atari_wrappers": "sb3_vpg.pong.wrappers",
    "sb3_vpg.common.vec_env": "sb3_vpg.pong.vec_env",
    "sb3_vpg.reinforce.karpathy": "sb3_vpg.pong.configs",
    "sb3_vpg.karpathy_pong": "sb3_vpg.pong.cli",
}


def upgrade_saved_settings(model: Any) -> None:
    """
    Read the settings of a model saved by an older release into today's form (settings of today's form are left
    as they are): 0.3 saved the algorithm's own buffer options inside ``rollout_buffer_kwargs`` and stored
    mostly-zero observations with ``EpisodicRolloutBuffer(sparse_observations=True)``, which is
    ``SparseEpisodicRolloutBuffer`` now; releases up to 0.4 kept ``n_steps=1`` beside ``n_episodes``.
    """
    kwargs = {key: value for key, value in model.rollout_buffer_kwargs.items() if key not in ALGORITHM_BUFFER_KWARGS}
    if kwargs.pop("sparse_observations", False):
        model.rollout_buffer_class = SparseEpisodicRolloutBuffer
        # 0.3 served sparse batches to a policy that said it takes them (KarpathyPolicy)
        kwargs["sparse_samples"] = hasattr(model.policy_class, "takes_sparse_features")
    model.rollout_buffer_kwargs = kwargs
    if model.n_episodes is not None and model.n_steps == 1:
        model.n_steps = None


def _saved_by_one_optimizer(params: dict[str, Any], policy: th.nn.Module) -> bool:
    """Whether ``params`` holds one optimizer for the whole policy, as VPG saved before sb3-vpg 0.3.0."""
    if "value_optimizer" in params or not isinstance(params.get("policy.optimizer"), dict):
        return False
    groups = params["policy.optimizer"].get("param_groups", [])
    n_saved = sum(len(group.get("params", [])) for group in groups)
    return n_saved == len([parameter for parameter in policy.parameters() if parameter.requires_grad])


def fit_optimizers_to_saved(model: Any, params: dict[str, Any]) -> bool:
    """
    Make ``model``'s optimizers fit the saved parameters ``params`` (``get_parameters()`` of a saved model) before
    they are loaded; returns whether the optimizer states can be loaded exactly.

    * A VPG saved before 0.3.0 had one optimizer for the actor and the value function: it goes on with one.
    * A model saved with a value optimizer of its own, loaded with ``vf_learning_rate=None`` (one optimizer): the
      weights load, and the one optimizer starts from a fresh state (the saved states belong to two optimizers
      over other parameter groups).
    """
    if model.value_optimizer is not None and _saved_by_one_optimizer(params, model.policy):
        warnings.warn(
            f"this {type(model).__name__} model was saved with one optimizer for the actor and the value function; "
            "it goes on with one (vf_learning_rate=None)",
            stacklevel=3,
        )
        model.vf_learning_rate = None
        model.policy.optimizer = model.policy.optimizer_class(
            model.policy.parameters(), lr=model.lr_schedule(1), **model.policy.optimizer_kwargs
        )
        model.value_optimizer = None
    if model.value_optimizer is None and "value_optimizer" in params:
        warnings.warn(
            f"this {type(model).__name__} model was saved with a value optimizer of its own; with "
            "vf_learning_rate=None one optimizer trains the actor and the value function, starting from a fresh "
            "optimizer state (the weights are loaded)",
            stacklevel=3,
        )
        del params["value_optimizer"], params["policy.optimizer"]
        return False
    return True


def _saved_attributes(path: str | pathlib.Path | io.BufferedIOBase) -> set[str]:
    """The names of the attributes saved in a model file's ``data`` (empty where the file cannot be read so)."""
    try:
        file = open_path(path, "r", suffix="zip")
        position = file.tell()
        try:
            with zipfile.ZipFile(file) as archive:
                return set(json.loads(archive.read("data")))
        finally:
            if isinstance(path, io.BufferedIOBase):
                file.seek(position)
            else:
                file.close()
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return set()  # SB3's load reports what is wrong with the file


def check_saved_by(algorithm: type, path: str | pathlib.Path | io.BufferedIOBase) -> None:
    """Raise a ``ValueError`` that says which algorithm saved ``path`` and how to load it, where another one did
    (a file with an attribute that ``algorithm``, the loading class, does not have)."""
    attributes = _saved_attributes(path)
    if not attributes:
        return
    foreign = [
        saver
        for attribute, saver in _FOREIGN_ATTRIBUTES.items()
        if attribute in attributes and not hasattr(algorithm, attribute)
    ]
    if not foreign and "rollout_buffer_class" in attributes and "use_baseline" not in attributes:
        foreign = [_A2C]  # an on-policy file without PPO's or TRPO's attributes
    if foreign:
        saved_by, how = foreign[0]
        raise ValueError(
            f"{path} was saved by {saved_by}, not by {algorithm.__name__}: load it with {how}. To start "
            f"{algorithm.__name__} from its "
            "weights where the networks match: model.policy.load_state_dict(other.policy.state_dict())"
        )


@contextmanager
def removed_module_errors(path: Any) -> Iterator[None]:
    """Turn the ``ModuleNotFoundError`` of a model that names a module removed in 0.4.0 into what to do about it."""
    try:
        yield
    except ModuleNotFoundError as error:
        if error.name not in REMOVED_MODULES:
            raise
        raise ModuleNotFoundError(
            f"{path}: this model was saved by sb3-vpg 0.1, whose classes lived in {error.name}; they moved to "
            f"{REMOVED_MODULES[error.name]} in 0.2 and the old module was removed in 0.4.0. Load it with "
            "custom_objects={'policy_class': KarpathyPolicy} (from sb3_vpg.pong.policies), then save it again",
            name=error.name,
        ) from error
