# This file is here just to define the policies that work for REINFORCE and VPG.
# (The Pong package adds "KarpathyPolicy" to REINFORCE.policy_aliases: see sb3_vpg/pong/__init__.py.)
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy

from sb3_vpg._moved import moved_to

MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy

# Deprecated: KarpathyPolicy was importable from here before the Pong package existed
__getattr__ = moved_to(__name__, "sb3_vpg.pong.policies", names=("KarpathyPolicy",))

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
