"""LassoCV, ElasticNetCV and LogisticRegressionCV: the core's k-fold cross-validation
(src/cv.rs), which fits every (λ, fold) model of a pass over X together (the block solver),
on scikit-learn's folds (``cv``), then refits all rows at the best λ.
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.model_selection import check_cv

from . import _core
from ._base import (
    LinearClassifierBase,
    LinearRegressorBase,
    apg_config,
    core_fit,
    core_inputs,
    penalty_from_alpha,
    weight_total,
)
from .linear import logistic_penalty


def fold_ids(cv, X, y, classifier):
    """One fold id per row from scikit-learn's splitter (KFold(5) / StratifiedKFold(5) by default)."""
    splitter = check_cv(5 if cv is None else cv, y, classifier=classifier)
    ids = np.full(X.shape[0], -1, dtype=np.int64)
    n_folds = 0
    for k, (_, test) in enumerate(splitter.split(X, y)):
        ids[test] = k
        n_folds = k + 1
    if np.any(ids < 0):
        raise ValueError("cv: every row must be in exactly one test fold")
    if n_folds < 2:
        raise ValueError(f"cv: needs at least 2 folds, got {n_folds}")
    return ids.astype(np.uint32), n_folds


def core_cv(X, y, sample_weight, n_classes, config, device, folds, l1_ratios, lambdas, n_lambdas, eps, scoring):
    return _core.cross_validate(
        *core_inputs(X, y, sample_weight, n_classes, config, device),
        folds,
        [float(r) for r in l1_ratios],
        None if lambdas is None else [float(v) for v in lambdas],
        int(n_lambdas),
        None if eps is None else float(eps),
        scoring,
    )


def _grid(alphas, eps):
    """(lambdas or None, n) from scikit-learn's alphas: an int count or the values."""
    if np.isscalar(alphas):
        n = int(alphas)
        if n < 1:
            raise ValueError(f"alphas={alphas}: must be at least 1")
        return None, n
    values = np.sort(np.asarray(alphas, dtype=np.float64))[::-1]
    return values, len(values)


class ElasticNetCV(RegressorMixin, LinearRegressorBase):
    """ElasticNet with alpha (and l1_ratio, when several are given) chosen by k-fold CV of the
    mean squared error.

    Parameters: l1_ratio=0.5 (float or list), eps=1e-3 (λ_min/λ_max of the automatic grid),
    alphas=100 (a count, or the values), cv=None (5-fold KFold; an int, a splitter or an iterable
    as scikit-learn), fit_intercept=True, max_iter=10000, tol=1e-8 (relative duality gap of every
    model), device='auto'.

    Attributes: alpha_, l1_ratio_, alphas_ (per l1 ratio when several, largest first),
    mse_path_ (alphas × folds, per l1 ratio when several), coef_, intercept_, dual_gap_, n_iter_.
    """

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        eps=1e-3,
        alphas=100,
        cv=None,
        fit_intercept=True,
        max_iter=10000,
        tol=1e-8,
        device="auto",
    ):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _ratios(self):
        return [float(self.l1_ratio)] if np.isscalar(self.l1_ratio) else [float(r) for r in self.l1_ratio]

    def fit(self, X, y, sample_weight=None):
        X, y, sample_weight = self._validate_fit(X, y, sample_weight)
        folds, _ = fold_ids(self.cv, X, y, classifier=False)
        lambdas, n = _grid(self.alphas, self.eps)
        config = apg_config("linear", penalty_from_alpha(0.0, 1.0), self.fit_intercept, self.max_iter, self.tol)
        ratios = self._ratios()
        r = core_cv(X, y, sample_weight, 0, config, self.device, folds, ratios, lambdas, n, self.eps, "mse")
        self._set_result(r)
        self.alpha_ = float(r["lambda_min"])
        self.l1_ratio_ = float(r["l1_ratio_min"])
        alphas = [np.asarray(c["lambda"]) for c in r["curves"]]
        paths = [np.asarray(c["fold_scores"]) for c in r["curves"]]
        several = not np.isscalar(self.l1_ratio)
        self.alphas_ = np.array(alphas) if several else alphas[0]
        self.mse_path_ = np.array(paths) if several else paths[0]
        return self


class LassoCV(ElasticNetCV):
    """Lasso with alpha chosen by k-fold CV of the mean squared error. Parameters and attributes
    as ElasticNetCV, without l1_ratio."""

    def __init__(self, *, eps=1e-3, alphas=100, cv=None, fit_intercept=True, max_iter=10000, tol=1e-8, device="auto"):
        self.eps = eps
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def _ratios(self):
        return [1.0]

    @property
    def l1_ratio(self):
        return 1.0


_LOGISTIC_SCORING = {
    None: "accuracy",
    "accuracy": "accuracy",
    "neg_log_loss": "deviance",
    "roc_auc": "auc",
}


class LogisticRegressionCV(ClassifierMixin, LinearClassifierBase):
    """LogisticRegression with C (and l1_ratio) chosen by stratified k-fold CV, then refitted on
    all rows at the best C.

    Parameters: Cs=10 (a count of logspace(-4, 4) values, or the values), cv=None (5-fold
    StratifiedKFold), penalty='l2' ('l1' | 'l2' | 'elasticnet'), l1_ratios=None (for
    'elasticnet'), scoring=None ('accuracy' as scikit-learn; 'neg_log_loss', 'roc_auc'),
    fit_intercept=True, class_weight=None, max_iter=10000, tol=1e-8, device='auto'.

    C maps to the core's λ = 1/(C·n_train), with n_train the folds' mean training weight (the
    folds share one λ grid). Attributes: C_, Cs_, l1_ratio_, scores_ ({positive class or each
    class: folds × Cs}, higher is better as in scikit-learn), coef_, intercept_, dual_gap_,
    n_iter_, classes_.
    """

    def __init__(
        self,
        *,
        Cs=10,
        cv=None,
        penalty="l2",
        l1_ratios=None,
        scoring=None,
        fit_intercept=True,
        class_weight=None,
        max_iter=10000,
        tol=1e-8,
        device="auto",
    ):
        self.Cs = Cs
        self.cv = cv
        self.penalty = penalty
        self.l1_ratios = l1_ratios
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.device = device

    def fit(self, X, y, sample_weight=None):
        X, y, sample_weight = self._validate_fit(X, y, sample_weight)
        codes = self._encode(y)
        sample_weight = self._class_weights(codes, sample_weight)
        k = len(self.classes_)
        if self.scoring not in _LOGISTIC_SCORING:
            raise ValueError(f"scoring={self.scoring!r}: expected None, 'accuracy', 'neg_log_loss' or 'roc_auc'")
        scoring = _LOGISTIC_SCORING[self.scoring]
        if scoring == "auc" and k != 2:
            raise ValueError("scoring='roc_auc' needs two classes")
        if self.penalty == "l2":
            ratios = [0.0]
        elif self.penalty == "l1":
            ratios = [1.0]
        elif self.penalty == "elasticnet":
            if self.l1_ratios is None:
                raise ValueError("penalty='elasticnet' needs l1_ratios")
            ratios = [float(r) for r in self.l1_ratios]
        else:
            raise ValueError(f"penalty={self.penalty!r}: expected 'l1', 'l2' or 'elasticnet'")
        Cs = np.logspace(-4, 4, int(self.Cs)) if np.isscalar(self.Cs) else np.sort(np.asarray(self.Cs, float))
        if len(Cs) < 1 or np.any(~(Cs > 0)):
            raise ValueError(f"Cs={self.Cs!r}: every C must be > 0")
        folds, n_folds = fold_ids(self.cv, X, codes, classifier=True)
        w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        total = w.sum()
        n_train = np.mean([total - w[folds == f].sum() for f in range(n_folds)])
        lambdas = 1.0 / (Cs * n_train)
        model = self._model(k)
        config = apg_config(model, penalty_from_alpha(0.0, 1.0), self.fit_intercept, self.max_iter, self.tol)
        r = core_cv(X, codes, sample_weight, k, config, self.device, folds, ratios, lambdas, len(Cs), None, scoring)
        best = int(r["best_index"])
        # λ is largest first: C ascending.
        self.Cs_ = Cs
        C = float(Cs[best])
        self.l1_ratio_ = float(r["l1_ratio_min"])
        sign = -0.5 if scoring == "deviance" else 1.0
        curve = r["curves"][int(r["best_curve"])]
        scores = sign * np.asarray(curve["fold_scores"]).T
        keys = [self.classes_[1]] if k == 2 else list(self.classes_)
        self.scores_ = {c: scores for c in keys}
        self.C_ = np.full(len(keys), C)
        # The refit of all rows at C, with scikit-learn's conversion on all rows' weight.
        penalty = logistic_penalty(C, "elasticnet", self.l1_ratio_, weight_total(sample_weight, X.shape[0]))
        fit_config = apg_config(model, penalty, self.fit_intercept, self.max_iter, self.tol)
        self._set_result(core_fit(X, codes, sample_weight, k, fit_config, self.device))
        return self
