"""Deprecated: moved to :mod:`sb3_vpg.pong.wrappers` (this module keeps old imports and saved models working)."""

from sb3_vpg._moved import moved_to

__getattr__ = moved_to(__name__, "sb3_vpg.pong.wrappers")
