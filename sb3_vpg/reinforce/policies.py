# This file is here just to define the policies that work for REINFORCE and VPG.
# (The Pong package adds "KarpathyPolicy" to REINFORCE.policy_aliases: see sb3_vpg/pong/__init__.py.)
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy

MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
