"""MLPClassifier: the core's dense network (src/network.rs; tiled matmul, activation and softmax
kernels on the GPU, each with its CPU twin), trained by minibatch SGD with momentum.

scikit-learn's objective: the mean cross-entropy + alpha/(2n)·‖W‖² over the layers' weights
(biases unpenalized): in the core's terms l2 = alpha/(2n). The output is a softmax over the
classes (two classes too).
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _core
from ._base import CoreModel


class MLPClassifier(ClassifierMixin, CoreModel):
    """A dense ReLU (or tanh) network with a softmax output.

    Parameters: hidden_layer_sizes=(100,), activation='relu' ('relu' | 'tanh'), alpha=1e-4,
    batch_size='auto' (min(200, n)), learning_rate_init=0.01, momentum=0.9, max_iter=200 (epochs),
    tol=1e-4, n_iter_no_change=10, random_state=None (seeds the initial weights and the
    minibatch order), device='auto'.

    Attributes: classes_, coefs_ and intercepts_ (per layer, as scikit-learn lays them out:
    inputs × outputs), n_iter_ (epochs run), loss_ (the final objective), device_,
    n_features_in_. A network's objective is not convex: it has no duality gap (dual_gap_ None).
    """

    _is_classifier = True

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=0.01,
        momentum=0.9,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        random_state=None,
        device="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The core's network reads dense rows.
        tags.input_tags.sparse = False
        return tags

    def _validate_fit(self, X, y, sample_weight):
        X, y = validate_data(self, X, y, accept_sparse=False, dtype=[np.float64, np.float32])
        if sample_weight is not None:
            from sklearn.utils.validation import _check_sample_weight

            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return X, y, sample_weight

    def _config(self, n, n_eff, n_classes):
        hidden = self.hidden_layer_sizes
        hidden = [int(hidden)] if np.isscalar(hidden) else [int(h) for h in hidden]
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r}: every layer needs at least 1 unit")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation={self.activation!r}: expected 'relu' or 'tanh'")
        batch = min(200, n) if self.batch_size == "auto" else min(int(self.batch_size), n)
        if batch < 1:
            raise ValueError(f"batch_size={self.batch_size}: must be at least 1")
        alpha = float(self.alpha)
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha={alpha}: must be a finite number >= 0")
        seed = 0 if self.random_state is None else self.random_state
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"random_state={self.random_state!r}: an int seed (or None) is expected")
        return {
            "model": "softmax",
            "network": {"hidden": hidden, "activation": self.activation},
            "penalty": {"l1": 0.0, "l2": alpha / (2.0 * n_eff), "bias_l1": 0.0, "bias_l2": 0.0},
            "solver": "sgd",
            "optimizer": "momentum" if self.momentum > 0 else "sgd",
            "momentum": float(self.momentum),
            "lr": float(self.learning_rate_init),
            "epochs": int(self.max_iter),
            "batch_size": {"rows": batch},
            "seed": int(seed),
            "tol": None if self.tol is None else float(self.tol),
            "n_iter_no_change": int(self.n_iter_no_change),
        }

    def _set_result(self, result):
        super()._set_result(result)
        self.network_ = result["network"]
        self.coefs_ = list(result["coefs"])
        self.intercepts_ = list(result["intercepts"])
        self.loss_ = result["objective"]

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=False, dtype=[np.float64, np.float32], reset=False)
        return _core.network_logits(self.network_, np.ascontiguousarray(X, dtype=np.float32))

    def predict_proba(self, X):
        z = self._logits(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        z = self._logits(X)
        return self.classes_[np.argmax(z, axis=1)]
