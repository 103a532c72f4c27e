"""
Karpathy's "Pong from Pixels" agent on REINFORCE: the env and its wrappers (``wrappers``), the vectorised env
(``vec_env``), the policy (``policies``), the configurations (``configs``) and the long-run command line (``cli``,
``python -m sb3_vpg.pong``). This package uses the algorithm; the algorithm knows nothing of it.
"""

from sb3_vpg.pong.configs import fast_karpathy_kwargs, karpathy_kwargs, points_karpathy_kwargs
from sb3_vpg.pong.policies import KarpathyPolicy
from sb3_vpg.pong.wrappers import KARPATHY_PONG_CLASSIC_ID, KARPATHY_PONG_ID, register_karpathy_pong
from sb3_vpg.reinforce import REINFORCE

# "KarpathyPolicy" by name for REINFORCE and VPG (VPG inherits the aliases)
REINFORCE.policy_aliases["KarpathyPolicy"] = KarpathyPolicy
# gymnasium.make("KarpathyPong-v0") works once sb3_vpg is imported (ale-py comes with the [atari] extra)
register_karpathy_pong()

__all__ = [
    "KARPATHY_PONG_CLASSIC_ID",
    "KARPATHY_PONG_ID",
    "KarpathyPolicy",
    "fast_karpathy_kwargs",
    "karpathy_kwargs",
    "points_karpathy_kwargs",
]
