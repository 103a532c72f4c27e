from sb3_vpg.common.atari_wrappers import register_karpathy_pong
from sb3_vpg.reinforce import REINFORCE
from sb3_vpg.reinforce.karpathy import karpathy_kwargs
from sb3_vpg.vpg import VPG

__version__ = "0.1.0"

# gymnasium.make("KarpathyPong-v0") works once sb3_vpg is imported (ale-py comes with the [atari] extra).
register_karpathy_pong()

__all__ = ["REINFORCE", "VPG", "__version__", "karpathy_kwargs"]
