"""Lasso, ElasticNet, Ridge and LogisticRegression: scikit-learn's estimators, fitted by the core's
apg (full-batch accelerated proximal gradient) to a certified relative duality gap ``tol``.

Conversions to the core's objective (README, "The objective"):
Lasso(alpha) -> l1 = alpha; ElasticNet(alpha, l1_ratio) -> l1 = alpha·l1_ratio,
l2 = alpha·(1 − l1_ratio)/2; Ridge(alpha) -> l2 = alpha/(2·Σw);
LogisticRegression(C, l1_ratio) -> l1 = l1_ratio/(C·Σw), l2 = (1 − l1_ratio)/(2·C·Σw)
(Σw = n without sample weights).
"""

from sklearn.base import ClassifierMixin, RegressorMixin

from ._base import LinearClassifierBase, LinearRegressorBase, apg_config, penalty_from_alpha

_DOC_COMMON = """
    fit_intercept : bool, default=True
    max_iter : int, default=10000
        Most apg iterations.
    tol : float, default=1e-8
        The relative duality gap G/J at which the fit stops: J(coef) − J* <= tol·J. Tighter
        than the CLI's 1e-6: a gap bounds J, and on collinear data (breast_cancer) coefficients
        within 1e-4 of the optimum, as scikit-learn users compare them, need about 1e-8.
    device : {'auto', 'gpu', 'cpu'}, default='auto'
        'gpu' needs an adapter; 'auto' takes the CPU when there is none; 'cpu' is the f64 reference.

    Attributes: coef_, intercept_, n_iter_, dual_gap_ (G), relative_gap_, converged_, objective_,
    device_, n_features_in_.
"""


class ElasticNet(RegressorMixin, LinearRegressorBase):
    __doc__ = (
        """Linear regression with the penalty alpha·l1_ratio·‖w‖₁ + alpha·(1 − l1_ratio)/2·‖w‖²
    on (1/(2n))‖y − Xw − b‖², as scikit-learn's ElasticNet.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float, default=0.5"""
        + _DOC_COMMON
    )

    def __init__(self, alpha=1.0, l1_ratio=0.5, *, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _config(self, n, n_eff, n_classes):
        return apg_config(
            "linear", penalty_from_alpha(self.alpha, self.l1_ratio), self.fit_intercept, self.max_iter, self.tol
        )


class Lasso(RegressorMixin, LinearRegressorBase):
    __doc__ = (
        """Linear regression with alpha·‖w‖₁ on (1/(2n))‖y − Xw − b‖², as scikit-learn's Lasso.

    Parameters
    ----------
    alpha : float, default=1.0"""
        + _DOC_COMMON
    )

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _config(self, n, n_eff, n_classes):
        return apg_config("linear", penalty_from_alpha(self.alpha, 1.0), self.fit_intercept, self.max_iter, self.tol)


class Ridge(RegressorMixin, LinearRegressorBase):
    __doc__ = (
        """Linear regression minimizing ‖y − Xw − b‖² + alpha·‖w‖², as scikit-learn's Ridge.

    Parameters
    ----------
    alpha : float, default=1.0"""
        + _DOC_COMMON
    )

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _config(self, n, n_eff, n_classes):
        penalty = penalty_from_alpha(self.alpha, 0.0)
        penalty["l2"] = float(self.alpha) / (2.0 * n_eff)
        return apg_config("linear", penalty, self.fit_intercept, self.max_iter, self.tol)


def logistic_penalty(C, penalty, l1_ratio, n_eff):
    """LogisticRegression's (C, penalty, l1_ratio) on total weight n_eff -> (l1, l2)."""
    if penalty is None:
        return {"l1": 0.0, "l2": 0.0, "bias_l1": 0.0, "bias_l2": 0.0}
    C = float(C)
    if not (C > 0 and C < float("inf")):
        raise ValueError(f"C={C}: must be a finite number > 0")
    if penalty == "l2":
        ratio = 0.0 if l1_ratio is None else float(l1_ratio)
    elif penalty == "l1":
        ratio = 1.0
    elif penalty == "elasticnet":
        if l1_ratio is None:
            raise ValueError("penalty='elasticnet' needs l1_ratio in [0, 1]")
        ratio = float(l1_ratio)
    else:
        raise ValueError(f"penalty={penalty!r}: expected 'l1', 'l2', 'elasticnet' or None")
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"l1_ratio={ratio}: must lie in [0, 1]")
    cn = C * n_eff
    return {"l1": ratio / cn, "l2": (1.0 - ratio) / (2.0 * cn), "bias_l1": 0.0, "bias_l2": 0.0}


class LogisticRegression(ClassifierMixin, LinearClassifierBase):
    __doc__ = (
        """Logistic regression (two classes) or multinomial logistic regression (more), minimizing
    C·Σ loss + l1_ratio·‖w‖₁ + (1 − l1_ratio)/2·‖w‖², as scikit-learn's LogisticRegression.

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet', None}, default='l2'
    C : float, default=1.0
    l1_ratio : float, default=None
        Used with penalty='elasticnet'.
    class_weight : dict or 'balanced', default=None"""
        + _DOC_COMMON
    )

    def __init__(
        self,
        penalty="l2",
        *,
        C=1.0,
        l1_ratio=None,
        fit_intercept=True,
        class_weight=None,
        max_iter=10000,
        tol=1e-8,
        device="auto",
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _config(self, n, n_eff, n_classes):
        return apg_config(
            self._model(n_classes),
            logistic_penalty(self.C, self.penalty, self.l1_ratio, n_eff),
            self.fit_intercept,
            self.max_iter,
            self.tol,
        )
