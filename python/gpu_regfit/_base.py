"""What every estimator shares: input conversion for the Rust core, the call into it, and the
fitted attributes. The solvers are the Rust crate's (``gpu_regfit._core``); nothing is solved here.

The core minimizes one objective (README, "The objective"):

    J(W, b) = (1/Σw) Σᵢ wᵢ·loss(W xᵢ + b, yᵢ) + l1·‖W‖₁ + l2·‖W‖₂²

and each estimator converts its scikit-learn parameters to (l1, l2) as scikit-learn defines them.
"""

import json

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _core

DEVICES = ("auto", "gpu", "cpu")


def core_x(X):
    """X as the core takes it: a C-contiguous float32 matrix, or a CSR tuple."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        X.sum_duplicates()
        X.sort_indices()
        return (
            np.ascontiguousarray(X.data, dtype=np.float32),
            np.ascontiguousarray(X.indices, dtype=np.uint32),
            np.ascontiguousarray(X.indptr, dtype=np.uint64),
            int(X.shape[1]),
        )
    return np.ascontiguousarray(X, dtype=np.float32)


def check_device(device):
    if device not in DEVICES:
        raise ValueError(f"device={device!r}: expected 'auto', 'gpu' or 'cpu'")
    return device


def core_inputs(X, y, sample_weight, n_classes, config, device):
    """The leading arguments of every core call: X, y (f32), weights, K, config JSON, device."""
    sw = None if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    return core_x(X), y, sw, int(n_classes), json.dumps(config), check_device(device)


def core_fit(X, y, sample_weight, n_classes, config, device):
    """One fit in the core; the core's errors arrive as ValueError with its one-line message."""
    return _core.fit(*core_inputs(X, y, sample_weight, n_classes, config, device))


def weight_total(sample_weight, n):
    """Σw (n without weights): scikit-learn's n in its C and Ridge alpha conversions."""
    return float(n if sample_weight is None else np.sum(sample_weight))


def penalty_from_alpha(alpha, l1_ratio):
    """ElasticNet(alpha, l1_ratio) -> (l1, l2) = (alpha·ρ, alpha·(1 − ρ)/2)."""
    alpha = float(alpha)
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha={alpha}: must be a finite number >= 0")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio={l1_ratio}: must lie in [0, 1]")
    return {"l1": alpha * l1_ratio, "l2": alpha * (1.0 - l1_ratio) / 2.0, "bias_l1": 0.0, "bias_l2": 0.0}


class CoreModel(BaseEstimator):
    """Base of the estimators: validation, the core call, and the fitted attributes."""

    # The core solves linear (1), logistic or softmax models.
    _is_classifier = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # Subclasses give the penalty and solver settings for n rows of total weight n_eff.
    def _config(self, n, n_eff):
        raise NotImplementedError

    def _validate_fit(self, X, y, sample_weight):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            y_numeric=not self._is_classifier,
            multi_output=False,
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, y, sample_weight

    def _encode(self, y):
        """Classifiers: labels -> class indices (classes_ sorted, as scikit-learn)."""
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}"
            )
        return codes.astype(np.float32)

    def _class_weights(self, codes, sample_weight):
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        from sklearn.utils.class_weight import compute_sample_weight

        labels = self.classes_[codes.astype(np.int64)]
        cw = compute_sample_weight(class_weight, labels)
        return cw if sample_weight is None else cw * sample_weight

    def fit(self, X, y, sample_weight=None):
        """Fits the model; X may be a numpy array or a SciPy sparse matrix (kept sparse)."""
        X, y, sample_weight = self._validate_fit(X, y, sample_weight)
        if self._is_classifier:
            target = self._encode(y)
            sample_weight = self._class_weights(target, sample_weight)
            n_classes = len(self.classes_)
        else:
            target = np.asarray(y, dtype=np.float64)
            n_classes = 0
        n = X.shape[0]
        config = self._config(n, weight_total(sample_weight, n), n_classes)
        result = core_fit(X, target, sample_weight, n_classes, config, self.device)
        self._set_result(result)
        return self

    def _set_result(self, result):
        # Iterations (apg) or epochs (sgd); the first gap check counts as one, so a start that is
        # already optimal (λ ≥ λmax) reports 1.
        self.n_iter_ = max(1, int(result["n_iter"]))
        self.dual_gap_ = result["dual_gap"]
        self.relative_gap_ = result["relative_gap"]
        self.converged_ = result["converged"]
        self.objective_ = result["objective"]
        self.device_ = result["device"]
        if "coef" in result:
            coef, intercept = result["coef"], result["intercept"]
            if self._is_classifier:
                self.coef_, self.intercept_ = coef, intercept
            else:
                self.coef_, self.intercept_ = coef[0], float(intercept[0])

    def _validate_predict(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)

    def _linear(self, X):
        """X·coef_ᵀ + intercept_ (the model, not a solver: numpy or SciPy does the product)."""
        X = self._validate_predict(X)
        return np.asarray(X @ np.asarray(self.coef_).T + self.intercept_)


class LinearRegressorBase(CoreModel):
    def predict(self, X):
        """X·coef_ + intercept_."""
        return self._linear(X)


class LinearClassifierBase(CoreModel):
    _is_classifier = True

    def _model(self, n_classes):
        return "logistic" if n_classes == 2 else "softmax"

    def decision_function(self, X):
        scores = self._linear(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities: the sigmoid (two classes) or the softmax."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - p, p])
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.int64)]
        return self.classes_[np.argmax(scores, axis=1)]


def apg_config(model, penalty, fit_intercept, max_iter, tol):
    """The core's apg: stopped when the relative duality gap is at most tol."""
    if int(max_iter) < 1:
        raise ValueError(f"max_iter={max_iter}: must be at least 1")
    if not (tol >= 0):
        raise ValueError(f"tol={tol}: must be >= 0")
    return {
        "model": model,
        "penalty": penalty,
        "solver": "apg",
        "fit_intercept": bool(fit_intercept),
        "max_iter": int(max_iter),
        "tol": float(tol),
    }
