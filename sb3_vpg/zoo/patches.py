"""
The run-time patches of rl_zoo3 (2.9.2) and huggingface_sb3 that our entry point applies, each with why it exists.
``tests/test_zoo_patches.py`` checks, against the pinned versions, that each is still needed: when one is not, the
test says so and the patch can go.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sb3_vpg.common.files import write_text_whole
from sb3_vpg.zoo.arguments import MASKABLE_ZOO_ALGOS, algo_argument, check_hyperparameters, check_zoo_forms


def read_rollout_buffer_class_by_name() -> None:
    from rl_zoo3.utils import get_class_by_name

    """
    Let a config name ``rollout_buffer_class`` by its import path (``sb3_vpg.common.sparse.SparseEpisodicRolloutBuffer``),
    as rl_zoo3 reads ``replay_buffer_class`` for off-policy algorithms: before rl_zoo3 preprocesses the
    hyperparameters, the name becomes the class.
    """
    from rl_zoo3.exp_manager import ExperimentManager

    preprocess = ExperimentManager._preprocess_hyperparams
    if getattr(preprocess, "reads_rollout_buffer_class", False):
        return

    def _preprocess_hyperparams(self: ExperimentManager, hyperparams: dict[str, Any]) -> Any:
        check_zoo_forms(self.algo, hyperparams)
        if isinstance(hyperparams.get("rollout_buffer_class"), str):
            hyperparams["rollout_buffer_class"] = get_class_by_name(hyperparams["rollout_buffer_class"])
        preprocessed = preprocess(self, hyperparams)
        check_hyperparameters(self.algo, self.env_name.gym_id, preprocessed[0])
        return preprocessed

    _preprocess_hyperparams.reads_rollout_buffer_class = True  # type: ignore[attr-defined]
    ExperimentManager._preprocess_hyperparams = _preprocess_hyperparams  # type: ignore[method-assign]


@contextmanager
def masked_evaluation(args: list[str]) -> Iterator[None]:
    """For a masked algorithm, the zoo's evaluation during training passes the env's masks to ``predict``
    (sb3-contrib's ``MaskableEvalCallback`` in place of SB3's ``EvalCallback``); other algorithms are untouched."""
    if algo_argument(args) not in MASKABLE_ZOO_ALGOS:
        yield
        return
    from sb3_contrib.common.maskable.callbacks import MaskableEvalCallback

    with patch("rl_zoo3.exp_manager.EvalCallback", MaskableEvalCallback):
        yield


@contextmanager
def record_videos_through_us() -> Iterator[None]:
    """rl_zoo3's record_training records each model with ``python -m rl_zoo3.record_video`` in a subprocess, where
    our algorithms are not registered: route those through ``python -m sb3_vpg.zoo record_video`` (with this
    interpreter, not the first ``python`` on the PATH)."""
    call = subprocess.call

    def call_through_us(command: Any, *args: Any, **kwargs: Any) -> int:
        if list(command[:3]) == ["python", "-m", "rl_zoo3.record_video"]:
            command = [sys.executable, "-m", "sb3_vpg.zoo", "record_video", *command[3:]]
        return call(command, *args, **kwargs)

    with patch.object(subprocess, "call", call_through_us):
        yield


@contextmanager
def ffmpeg_on_path() -> Iterator[None]:
    """record_training joins the videos with an ``ffmpeg`` command; without one on the PATH, moviepy's own
    (imageio-ffmpeg's binary, installed with the zoo) stands in for it."""
    if shutil.which("ffmpeg") is not None:
        yield
        return
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as folder:
        os.symlink(imageio_ffmpeg.get_ffmpeg_exe(), os.path.join(folder, "ffmpeg"))
        with patch.dict(os.environ, {"PATH": folder + os.pathsep + os.environ.get("PATH", "")}):
            yield


def card_for_sb3_vpg(card: str) -> str:
    """A model card of rl_zoo3's push_to_hub with commands that know our algorithms: ``python -m sb3_vpg.zoo``
    for ``python -m rl_zoo3.<command>``, and how to install sb3-vpg."""
    card = re.sub(r"python -m rl_zoo3\.(\w+)", r"python -m sb3_vpg.zoo \1", card)
    card = card.replace("`pip install rl_zoo3`", '`pip install -e ".[zoo]"` in a clone of sb3-vpg')
    return card.replace(
        "pip install rl_zoo3",
        "# sb3-vpg is not on PyPI: install it from a clone of its repository, in the clone's folder\n"
        'pip install -c constraints.txt -e ".[zoo]"',
    )


@contextmanager
def cards_for_sb3_vpg() -> Iterator[None]:
    """push_to_hub writes its model card, then saves its metadata into it with ``metadata_save``: rewrite the
    card's commands there (see :func:`card_for_sb3_vpg`)."""
    from huggingface_hub import repocard

    metadata_save = repocard.metadata_save

    def save(path: Any, data: dict) -> Any:
        write_text_whole(path, card_for_sb3_vpg(Path(path).read_text(encoding="utf-8")))
        return metadata_save(path, data)

    with patch.object(repocard, "metadata_save", save):
        yield


@contextmanager
def generate_metadata_by_its_old_name() -> Iterator[None]:
    """rl_zoo3 2.9.2's push_to_hub imports ``generate_metadata`` from huggingface_sb3, which the integration it
    depends on (sb3-team-hf-integration 3.2) renamed ``_generate_metadata`` and made return a ``ModelCardData``,
    so that command fails on import (huggingface/huggingface_sb3#54): give it the old name and the old dict."""
    # the module: the package's ``push_to_hub`` attribute is the function of that name
    integration = importlib.import_module("huggingface_sb3.push_to_hub")
    if hasattr(integration, "generate_metadata"):
        yield
        return

    def generate_metadata(model_name: str, env_id: str, mean_reward: float, std_reward: float) -> dict:
        return integration._generate_metadata(model_name, env_id, mean_reward, std_reward).to_dict()

    with patch.object(integration, "generate_metadata", generate_metadata, create=True):
        yield
