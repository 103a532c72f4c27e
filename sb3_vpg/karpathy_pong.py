"""Deprecated: moved to :mod:`sb3_vpg.pong.cli`; ``python -m sb3_vpg.karpathy_pong`` runs ``python -m sb3_vpg.pong``."""

import warnings

from sb3_vpg._moved import moved_to

__getattr__ = moved_to(__name__, "sb3_vpg.pong.cli")

if __name__ == "__main__":
    from sb3_vpg.pong.cli import main

    warnings.warn("python -m sb3_vpg.karpathy_pong has moved: use python -m sb3_vpg.pong", DeprecationWarning, stacklevel=1)
    main()
