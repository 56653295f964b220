"""gpu-regfit from Python: scikit-learn-compatible estimators over the gpu-regfit Rust core.

Every estimator fits in the Rust crate (WGSL kernels through wgpu on any Vulkan, Metal or DX12
GPU, or its f64 CPU reference), takes ``device='auto'|'gpu'|'cpu'``, numpy arrays or SciPy CSR,
and ``sample_weight``; the apg estimators report a certified duality gap (``dual_gap_``).
Distributed fits over a Dask cluster are in :mod:`gpu_regfit.dask`.
"""

from ._core import __version__, auto_device
from .cv import ElasticNetCV, LassoCV, LogisticRegressionCV
from .linear import ElasticNet, Lasso, LogisticRegression, Ridge
from .mlp import MLPClassifier
from .sgd import SGDClassifier, SGDRegressor

__all__ = [
    "ElasticNet",
    "ElasticNetCV",
    "Lasso",
    "LassoCV",
    "LogisticRegression",
    "LogisticRegressionCV",
    "MLPClassifier",
    "Ridge",
    "SGDClassifier",
    "SGDRegressor",
    "__version__",
    "auto_device",
]
