"""
The guards of an update: a non-finite reward, return, loss or gradient stops training before the weights change,
with an error that says what and where; an update that fails or is interrupted (a Ctrl-C) is undone whole.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch as th


class NonFiniteError(FloatingPointError):
    """A reward, return, loss or gradient that is NaN or infinite: training stops before the weights change."""


def check_rewards(rewards: np.ndarray, num_timesteps: int) -> None:
    """Stop at a non-finite reward of one vector step, before it is counted, stored or trained on."""
    if np.isfinite(rewards).all():  # every step of every env passes here: one pass when all is well
        return
    bad = np.flatnonzero(~np.isfinite(rewards))
    raise NonFiniteError(
        f"env {bad[0]} returned the non-finite reward {rewards[bad[0]]} at step {num_timesteps + len(rewards):,} "
        f"(num_timesteps after it); nothing of that step was stored or trained on"
    )


def check_returns(returns: np.ndarray, envs: np.ndarray) -> None:
    """Stop at a non-finite return of an update (a value or bootstrap overflowed), before it is trained on.

    :param returns: The update's returns, grouped by env (carried steps first)
    :param envs: The env of each
    """
    bad = np.flatnonzero(~np.isfinite(returns))
    if len(bad):
        env = int(envs[bad[0]])
        step = int(bad[0] - np.searchsorted(envs, env))
        raise NonFiniteError(
            f"non-finite return {returns[bad[0]]} for env {env} at step {step} of its steps in this update "
            f"(carried steps first); check the rewards and values of that env"
        )


def backward(loss: th.Tensor, weight: float, what: str, update: int) -> None:
    """Accumulate the gradient of ``weight * loss``, unless the loss is not finite.

    :param what: The loss, as the error names it (``"loss"``, ``"value loss"``)
    :param update: The update's number (from 1)
    """
    if not th.isfinite(loss):
        raise NonFiniteError(f"non-finite {what} {loss.item()} in update {update}; the weights were not changed")
    (loss * weight).backward()


def step(optimizer: th.optim.Optimizer, module: th.nn.Module, max_grad_norm: float | None, what: str, update: int) -> None:
    """
    One step of ``optimizer``, unless a gradient is not finite or their norm overflows; clips the gradient to
    ``max_grad_norm`` first where given.

    :param module: The module whose parameters the optimizer trains (to name a bad one)
    :param what: The step, as the error names it (``"policy"``, ``"value"``)
    :param update: The update's number (from 1)
    """
    parameters = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    gradients = [parameter.grad for parameter in parameters]
    norm = th.nn.utils.get_total_norm(gradients)  # one fused pass; non-finite where any gradient entry is
    if not th.isfinite(norm):
        optimizer.zero_grad()
        where = f"the {what} step of update {update}"
        bad = next((p for p, gradient in zip(parameters, gradients, strict=True) if not th.isfinite(gradient).all()), None)
        if bad is not None:
            raise NonFiniteError(f"non-finite gradient of {_name(module, bad)} in {where}; the weights were not changed")
        # every entry is finite but their norm overflows the dtype: a policy that has diverged
        largest, parameter = max(
            ((gradient.abs().max().item(), p) for p, gradient in zip(parameters, gradients, strict=True)),
            key=lambda pair: pair[0],
        )
        raise NonFiniteError(
            f"the gradient norm of {where} overflows (every entry is finite, the largest {largest:.3g} in "
            f"{_name(module, parameter)}); the weights were not changed"
        )
    if max_grad_norm is not None:
        th.nn.utils.clip_grads_with_norm_(parameters, max_grad_norm, norm)
    optimizer.step()


def _name(module: th.nn.Module, parameter: th.Tensor) -> str:
    return next((name for name, candidate in module.named_parameters() if candidate is parameter), "a parameter")


class TrainingSnapshot:
    """
    The tensors an update changes, copied before it: a module's parameters and buffers (BatchNorm's statistics) and
    each optimizer's per-parameter state. :meth:`restore` puts them back in place, so that a Ctrl-C that lands
    inside an optimizer's step (some parameters stepped, others not) leaves no half-made update. About a tenth of
    the cost of ``copy.deepcopy`` of the state dicts: it copies tensors, not dicts of names.

    :param module: The module the update trains (the policy)
    :param optimizers: The optimizers that step it
    """

    def __init__(self, module: th.nn.Module, optimizers: Sequence[th.optim.Optimizer]):
        self.tensors = [*module.parameters(), *module.buffers()]
        self.copies = [tensor.detach().clone() for tensor in self.tensors]
        self.optimizers = list(optimizers)
        self.optimizer_states = [
            {parameter: {key: _copy(value) for key, value in state.items()} for parameter, state in optimizer.state.items()}
            for optimizer in self.optimizers
        ]

    def restore(self) -> None:
        with th.no_grad():
            for tensor, copied in zip(self.tensors, self.copies, strict=True):
                tensor.copy_(copied)
        for optimizer, states in zip(self.optimizers, self.optimizer_states, strict=True):
            optimizer.state.clear()  # a state the update created (an optimizer's first step) goes too
            optimizer.state.update(states)


def _copy(value: Any) -> Any:
    return value.clone() if isinstance(value, th.Tensor) else value


@contextmanager
def undone_if_it_fails(module: th.nn.Module, optimizers: Sequence[th.optim.Optimizer], buffer: Any) -> Iterator[None]:
    """
    Run an update; where it raises (a non-finite loss, a Ctrl-C, even inside an optimizer's step), put the weights
    and the optimizers' states back as they were and hold its steps for the next one (``buffer.unready()``).
    """
    before = TrainingSnapshot(module, optimizers)
    try:
        yield
    except BaseException:
        before.restore()
        buffer.unready()
        raise
