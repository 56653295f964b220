"""SGDRegressor and SGDClassifier: the core's minibatch SGD (the fused GPU step kernel), with
scikit-learn's names for the objective and its own flags for the optimizer.

Objective, as scikit-learn's SGD: (1/n) Σ loss + alpha·R(w), with R = ½‖w‖² ('l2'), ‖w‖₁ ('l1')
or (1 − l1_ratio)/2·‖w‖² + l1_ratio·‖w‖₁ ('elasticnet'); in the core's terms l1 = alpha·ρ,
l2 = alpha·(1 − ρ)/2. The learning rate is eta0/(1 + decay·t) over minibatches of batch_size rows
(momentum > 0: heavy ball); the l1 part is applied as the proximal soft-threshold, so
coefficients become exactly zero. More than two classes fit the multinomial (softmax) model.
"""

from sklearn.base import ClassifierMixin, RegressorMixin

from ._base import LinearClassifierBase, LinearRegressorBase, penalty_from_alpha

_RATIOS = {"l2": 0.0, "l1": 1.0}


def sgd_config(est, model, n):
    if est.penalty is None:
        penalty = penalty_from_alpha(0.0, 0.0)
    elif est.penalty == "elasticnet":
        penalty = penalty_from_alpha(est.alpha, float(est.l1_ratio))
    elif est.penalty in _RATIOS:
        penalty = penalty_from_alpha(est.alpha, _RATIOS[est.penalty])
    else:
        raise ValueError(f"penalty={est.penalty!r}: expected 'l2', 'l1', 'elasticnet' or None")
    if int(est.batch_size) < 1:
        raise ValueError(f"batch_size={est.batch_size}: must be at least 1")
    seed = 0 if est.random_state is None else est.random_state
    if not isinstance(seed, (int,)) or isinstance(seed, bool):
        raise ValueError(f"random_state={est.random_state!r}: an int seed (or None) is expected")
    return {
        "model": model,
        "penalty": penalty,
        "solver": "sgd",
        "optimizer": "momentum" if est.momentum > 0 else "sgd",
        "momentum": float(est.momentum),
        "l1_update": "prox",
        "lr": float(est.eta0),
        "decay": float(est.decay),
        "epochs": int(est.max_iter),
        "batch_size": {"rows": min(int(est.batch_size), n)},
        "seed": int(seed),
        "tol": None if est.tol is None else float(est.tol),
        "n_iter_no_change": int(est.n_iter_no_change),
        "fit_intercept": bool(est.fit_intercept),
    }


class SGDRegressor(RegressorMixin, LinearRegressorBase):
    """Least squares by minibatch SGD on the GPU (loss='squared_error').

    Parameters: loss='squared_error', penalty='l2', alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
    max_iter=1000 (epochs), tol=1e-3 (stop when the epoch loss has not improved by tol for
    n_iter_no_change epochs; None: run max_iter), eta0=0.01, decay=0.0, momentum=0.9 (heavy ball; 0: plain SGD),
    batch_size=256, n_iter_no_change=5, random_state=None (the seed of the minibatch order),
    device='auto'.

    Attributes: coef_, intercept_, n_iter_ (epochs run), dual_gap_ (the certificate of the final
    weights, in f64), relative_gap_, objective_, device_.
    """

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        eta0=0.01,
        decay=0.0,
        momentum=0.9,
        batch_size=256,
        n_iter_no_change=5,
        random_state=None,
        device="auto",
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.eta0 = eta0
        self.decay = decay
        self.momentum = momentum
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.device = device

    def _config(self, n, n_eff, n_classes):
        if self.loss != "squared_error":
            raise ValueError(f"loss={self.loss!r}: SGDRegressor fits loss='squared_error'")
        return sgd_config(self, "linear", n)


class SGDClassifier(ClassifierMixin, LinearClassifierBase):
    """Logistic regression by minibatch SGD on the GPU (loss='log_loss'); more than two classes
    fit the multinomial model. Parameters as SGDRegressor, plus class_weight; attributes as
    SGDRegressor, plus classes_.
    """

    def __init__(
        self,
        loss="log_loss",
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        eta0=0.01,
        decay=0.0,
        momentum=0.9,
        batch_size=256,
        n_iter_no_change=5,
        random_state=None,
        class_weight=None,
        device="auto",
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.eta0 = eta0
        self.decay = decay
        self.momentum = momentum
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.class_weight = class_weight
        self.device = device

    def _config(self, n, n_eff, n_classes):
        if self.loss != "log_loss":
            raise ValueError(f"loss={self.loss!r}: SGDClassifier fits loss='log_loss' (logistic / multinomial)")
        return sgd_config(self, self._model(n_classes), n)
