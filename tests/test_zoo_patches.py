"""
Each run-time patch of ``sb3_vpg.zoo.patches`` is still needed at the pinned rl_zoo3 and huggingface_sb3: these
read what each patch works around in those packages' installed sources. When one fails, upstream has changed:
drop the patch (or adapt it), then this test.
"""

import importlib
import importlib.util
from pathlib import Path

from stable_baselines3.common.callbacks import EvalCallback


def source(module: str) -> str:
    """The installed source of ``module``, without importing it (rl_zoo3's push_to_hub fails on import)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin).read_text(encoding="utf-8")


def test_rl_zoo3_reads_replay_but_not_rollout_buffer_class_by_name():
    """read_rollout_buffer_class_by_name: a config can name rollout_buffer_class only through our patch."""
    experiment_manager = source("rl_zoo3.exp_manager")
    assert "replay_buffer_class" in experiment_manager and "rollout_buffer_class" not in experiment_manager


def test_rl_zoo3_evaluates_with_sb3s_eval_callback():
    """masked_evaluation: the zoo's evaluation would act without the env's masks."""
    from rl_zoo3 import exp_manager

    assert exp_manager.EvalCallback is EvalCallback
    assert "MaskableEvalCallback" not in source("rl_zoo3.exp_manager")


def test_record_training_runs_rl_zoo3s_record_video_and_ffmpeg():
    """record_videos_through_us and ffmpeg_on_path: it records each checkpoint with rl_zoo3's own module (where our
    algorithms are not registered) and joins the videos with an ffmpeg command."""
    record_training = source("rl_zoo3.record_training")
    assert '"rl_zoo3.record_video"' in record_training
    assert 'os.system(f"ffmpeg ' in record_training  # a shell command: the ffmpeg on the PATH


def test_push_to_hub_writes_rl_zoo3_commands_and_imports_a_renamed_function():
    """cards_for_sb3_vpg: its card tells readers to run python -m rl_zoo3.<command>, which knows no reinforce.
    generate_metadata_by_its_old_name: it imports generate_metadata, which huggingface_sb3 renamed."""
    push_to_hub = source("rl_zoo3.push_to_hub")
    assert "python -m rl_zoo3." in push_to_hub
    assert "generate_metadata" in push_to_hub
    integration = importlib.import_module("huggingface_sb3.push_to_hub")
    assert not hasattr(integration, "generate_metadata") and hasattr(integration, "_generate_metadata")
