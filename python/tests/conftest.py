"""Shared settings of the Python tests.

GPU tests follow the Rust tests' rule: without an adapter they fail with the install hint,
unless GPU_REGFIT_SKIP_GPU=1 is set on purpose.
"""

import os

import pytest

import gpu_regfit

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")


@pytest.fixture(scope="session")
def gpu_device():
    """'gpu' when an adapter is present; a failure naming the fix when not."""
    if os.environ.get("GPU_REGFIT_SKIP_GPU") == "1":
        pytest.skip("GPU_REGFIT_SKIP_GPU=1: skipping the GPU part on purpose")
    device = gpu_regfit.auto_device()
    if device == "cpu":
        pytest.fail(
            "GPU test needs an adapter: install a GPU driver; on Linux without a GPU run "
            "`apt-get install -y mesa-vulkan-drivers` (or set GPU_REGFIT_SKIP_GPU=1)"
        )
    return "gpu"
