"""Settings of models saved by older sb3-vpg releases, read into today's form (``REINFORCE.load`` keeps working)."""

from typing import Any

import torch as th
from stable_baselines3.common.buffers import RolloutBuffer

from sb3_vpg.common.sparse import SparseEpisodicRolloutBuffer


def upgrade_rollout_buffer_settings(
    buffer_class: type[RolloutBuffer] | None,
    buffer_kwargs: dict[str, Any] | None,
    policy_class: Any,
    algorithm_kwargs: tuple[str, ...],
) -> tuple[type[RolloutBuffer] | None, dict[str, Any]]:
    """
    sb3-vpg 0.3 saved the algorithm's own buffer options inside ``rollout_buffer_kwargs`` (they are REINFORCE's
    arguments now, and kept out of it), and stored mostly-zero observations compactly with
    ``EpisodicRolloutBuffer(sparse_observations=True)``, which is ``SparseEpisodicRolloutBuffer`` since 0.4.
    Settings of today's form come back unchanged.
    """
    kwargs = {key: value for key, value in (buffer_kwargs or {}).items() if key not in algorithm_kwargs}
    if kwargs.pop("sparse_observations", False):
        buffer_class = SparseEpisodicRolloutBuffer
        # 0.3 served sparse batches to a policy that said it takes them (KarpathyPolicy)
        kwargs["sparse_samples"] = hasattr(policy_class, "takes_sparse_features")
    return buffer_class, kwargs


def saved_by_one_optimizer(params: dict[str, Any], policy: th.nn.Module) -> bool:
    """
    Whether ``params`` (``get_parameters()`` of a saved model) holds one optimizer for the whole policy, as VPG
    saved before sb3-vpg 0.3.0, rather than a policy optimizer and a value optimizer with part of it each.
    """
    if "value_optimizer" in params or not isinstance(params.get("policy.optimizer"), dict):
        return False
    groups = params["policy.optimizer"].get("param_groups", [])
    n_saved = sum(len(group.get("params", [])) for group in groups)
    return n_saved == len([parameter for parameter in policy.parameters() if parameter.requires_grad])


# Modules whose classes moved in sb3-vpg 0.2 and whose old paths were removed in 0.4.0: a model saved by 0.1 names
# its policy class by the old path
REMOVED_MODULES = {
    "sb3_vpg.common.policies": "sb3_vpg.pong.policies",
    "sb3_vpg.common.atari_wrappers": "sb3_vpg.pong.wrappers",
    "sb3_vpg.common.vec_env": "sb3_vpg.pong.vec_env",
    "sb3_vpg.reinforce.karpathy": "sb3_vpg.pong.configs",
    "sb3_vpg.karpathy_pong": "sb3_vpg.pong.cli",
}


def removed_module_message(error: ModuleNotFoundError) -> str | None:
    """What to do when a saved model names a module removed in 0.4.0 (None for any other missing module)."""
    if error.name not in REMOVED_MODULES:
        return None
    return (
        f"this model was saved by sb3-vpg 0.1, whose classes lived in {error.name}; they moved to "
        f"{REMOVED_MODULES[error.name]} in 0.2 and the old module was removed in 0.4.0. Load it with "
        "custom_objects={'policy_class': KarpathyPolicy} (from sb3_vpg.pong.policies), then save it again"
    )
