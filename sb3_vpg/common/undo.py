"""Undo of an update that failed or was interrupted: the weights and the optimizers' states as they were before it."""

from collections.abc import Sequence

import torch as th


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


def _copy(value: object) -> object:
    return value.clone() if isinstance(value, th.Tensor) else value
