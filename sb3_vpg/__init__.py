# The Pong application: registers "KarpathyPolicy" with REINFORCE and the KarpathyPong ids with gymnasium
from sb3_vpg.pong import karpathy_kwargs
from sb3_vpg.reinforce import REINFORCE
from sb3_vpg.vpg import VPG

__version__ = "0.4.0"

__all__ = ["REINFORCE", "VPG", "__version__", "karpathy_kwargs"]
