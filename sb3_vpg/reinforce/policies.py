# This file is here just to define the policies that work for REINFORCE and VPG: SB3's, with the option
# action_bounds="clip" | "tanh" (sb3_vpg.common.action_bounds).
# (The Pong package adds "KarpathyPolicy" to REINFORCE.policy_aliases: see sb3_vpg/pong/__init__.py.)
from sb3_vpg.common.action_bounds import (
    BoundedActorCriticCnnPolicy,
    BoundedActorCriticPolicy,
    BoundedMultiInputActorCriticPolicy,
)

MlpPolicy = BoundedActorCriticPolicy
CnnPolicy = BoundedActorCriticCnnPolicy
MultiInputPolicy = BoundedMultiInputActorCriticPolicy

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
