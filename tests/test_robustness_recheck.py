"""benchmarks/classic_control/robustness_recheck.py: when a seed holds its score, and how contenders are ranked."""

from tests.benchmark_scripts import import_script

robustness_recheck = import_script("classic_control/robustness_recheck.py")


def test_a_seed_holds_when_no_evaluation_after_its_first_475_falls_under_400_and_the_last_is_475():
    holds = robustness_recheck.holds
    assert holds([100.0, 475.0, 400.0, 500.0], 475.0)
    assert not holds([100.0, 475.0, 399.9, 500.0], 475.0)  # the README's main job on 0.5.0: 500, 45, ..., 500
    assert not holds([100.0, 200.0, 300.0], 475.0)  # never reached
    assert not holds([500.0, 500.0, 450.0], 475.0)  # ended under the threshold
    assert holds([10.0, 20.0, 475.0], 475.0)  # a dip before the first 475 does not count


def test_contenders_rank_by_the_seeds_that_hold_then_the_median_late_score():
    steady = [{"holds": True, "late_score": 480.0}] * 3
    fast_but_dipping = [{"holds": True, "late_score": 500.0}] * 2 + [{"holds": False, "late_score": 500.0}]
    ranked = sorted([fast_but_dipping, steady], key=robustness_recheck.rank_key)
    assert ranked[0] is steady
