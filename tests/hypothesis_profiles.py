"""Hypothesis profiles for offsync's property tests.

`ci` (the default) is derandomized, so every run tries the same examples and a red build is
reproducible; `long` searches for real. Choose with `OFFSYNC_HYPOTHESIS_PROFILE=long`, or with
hypothesis's own flag, which needs the profiles registered before pytest configures (`-p` loads
this module early):

    OFFSYNC_HYPOTHESIS_PROFILE=long pytest tests/test_convergence.py
    pytest -p tests.hypothesis_profiles --hypothesis-profile=long tests/test_convergence.py
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=400,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=5_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PROFILE = os.environ.get("OFFSYNC_HYPOTHESIS_PROFILE")


def load() -> None:
    """Load the profile named by the environment, else `ci` unless `--hypothesis-profile` chose."""
    if PROFILE:
        settings.load_profile(PROFILE)
    elif settings.get_current_profile_name() == "default":
        settings.load_profile("ci")
