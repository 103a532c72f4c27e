from typing import Any

from sb3_vpg.common.guards import NonFiniteError
from sb3_vpg.common.on_policy_algorithm import DroppedStepsWarning
from sb3_vpg.reinforce import REINFORCE
from sb3_vpg.vpg import VPG

__version__ = "0.6.0.dev0"  # main carries the next release's development version

__all__ = ["REINFORCE", "VPG", "DroppedStepsWarning", "MaskableREINFORCE", "MaskableVPG", "NonFiniteError", "__version__"]

# The masked algorithms need sb3-contrib (the [masks] extra): imported on first use, so that import sb3_vpg does not
_MASKABLE = {
    "MaskableREINFORCE": "sb3_vpg.reinforce_mask",
    "MaskableVPG": "sb3_vpg.vpg_mask",
}


def __getattr__(name: str) -> Any:
    if name in _MASKABLE:
        import importlib

        from sb3_vpg.common.extras import extra_needed

        with extra_needed():
            return getattr(importlib.import_module(_MASKABLE[name]), name)
    # The Pong application is imported where it is used (import sb3_vpg.pong), not by the package face
    if name == "karpathy_kwargs":
        import warnings

        from sb3_vpg.pong.configs import karpathy_kwargs

        warnings.warn(
            "sb3_vpg.karpathy_kwargs is deprecated and will be removed: import it from sb3_vpg.pong "
            "(from sb3_vpg.pong import karpathy_kwargs), which also registers KarpathyPolicy and the KarpathyPong ids",
            DeprecationWarning,
            stacklevel=2,
        )
        return karpathy_kwargs
    raise AttributeError(f"module 'sb3_vpg' has no attribute {name!r}")
