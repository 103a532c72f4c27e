"""Which parameters of an actor-critic policy a separate value optimizer trains."""

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy


def split_value_parameters(
    policy: ActorCriticPolicy, observation_space: spaces.Space
) -> tuple[list[th.nn.Parameter], list[th.nn.Parameter]]:
    """
    The policy's trainable parameters in two groups, in ``policy.parameters()`` order: those only the value
    function uses (the value optimizer's) and all the others (the policy optimizer's: the actor's own and any
    layer the actor shares with the value function). Found by following the gradients of ``V(s)`` and of
    ``log pi(a|s)`` from one sampled observation, so that it holds for any policy, whatever its layout.

    :param policy: An actor-critic policy with a value head (``predict_values``)
    :param observation_space: Where the sampled observation comes from
    :return: (value-only parameters, the other parameters)
    """
    parameters = [parameter for parameter in policy.parameters() if parameter.requires_grad]
    observation = policy.obs_to_tensor(observation_space.sample())[0]
    with th.enable_grad():
        distribution = policy.get_distribution(observation)
        # the mode, not a sample: finding the parameters must not draw from torch's random generator
        log_prob = distribution.log_prob(distribution.get_actions(deterministic=True).detach())
        actor_grads = th.autograd.grad(log_prob.sum(), parameters, allow_unused=True)
        value_grads = th.autograd.grad(policy.predict_values(observation).sum(), parameters, allow_unused=True)
    value_only = [
        parameter
        for parameter, actor_grad, value_grad in zip(parameters, actor_grads, value_grads, strict=True)
        if value_grad is not None and actor_grad is None
    ]
    value_ids = {id(parameter) for parameter in value_only}
    others = [parameter for parameter in parameters if id(parameter) not in value_ids]
    return value_only, others
