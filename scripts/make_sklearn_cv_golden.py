#!/usr/bin/env python3
"""Writes the scikit-learn golden values of cross-validation that the `gpu-regfit cv` tests check,
so CI needs no Python.

    pip install scikit-learn numpy scipy && python3 scripts/make_sklearn_cv_golden.py

Output: tests/data/sklearn_cv.json. The data are read back as the f32 values the tests read
(then widened to float64). Folds are given to scikit-learn as explicit (train, test) index lists,
and written out as one fold id per row, so the tests can use the very same folds. Everything is
deterministic (no shuffling, no random state).

  "lasso":    LassoCV on tests/data/diabetes_z.csv (442 × 10), folds KFold(5) (contiguous, no
              shuffle), its default grid (100 alphas, eps=1e-3), tol=1e-10. Records the grid,
              the test MSE of every (alpha, fold), its mean over folds, the chosen alpha_ and
              its index, and the refit's coef/intercept. Checks (asserts) that the grid is
              geomspace(alpha_max, alpha_max·1e-3, 100) with
                  alpha_max = max_j |Σ_i (x_ij − x̄_j)(y_i − ȳ)| / (n·R),  R = 1,
              computed here on the full data: our default grid equals scikit-learn's.
  "enet":     ElasticNetCV(l1_ratio=[.1, .5, .9]) on the same data and folds, same grid rule
              (one grid per ratio, alpha_max divided by R), tol=1e-10; same records and checks,
              per ratio, plus the chosen (alpha_, l1_ratio_) pair and its indices.
  "logistic": LogisticRegressionCV (plain L2, lbfgs, Cs=10, scoring="neg_log_loss", tol=1e-10)
              on tests/data/breast_cancer_z.csv (569 × 30, y in {0, 1}), folds StratifiedKFold(5)
              (no shuffle). Records the Cs grid, the chosen C_ and its index, the test scores
              (neg log loss, folds × Cs) and their mean, and the grid in the project's λ:
              scikit-learn minimizes C·Σ logloss + ½‖w‖², i.e. (1/n)Σ logloss + λ/2‖w‖² with
              λ = 1/(C·n_train) (R = 0); `lambdas` uses n_train = n·4/5 (the mean training size;
              `n_train` lists each fold's own). Ordered as Cs (larger C, smaller λ).
              scikit-learn's log_loss clips probabilities to [eps, 1 − eps] (eps = 2.2e-16);
              `scores_unclipped` / `mean_score_unclipped` are the same fits' exact scores
              −mean(log(1 + e^z) − y·z), which differ at the largest Cs. The refit's
              coef/intercept (at C_, on all rows) are lbfgs's: it stops on its ftol, so they are
              ~3e-7 from the exact optimum (`refit_grad_max`: the max-abs gradient of
              (1/n)Σ logloss + λ/2‖w‖² there, asserted < 1e-6).

Objective convention (scikit-learn's ElasticNet): J = (1/2n)Σ(y − Xw − b)² + λR‖w‖₁ +
λ(1 − R)/2‖w‖², λ = alpha, R = l1_ratio.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from scipy.special import expit, log_expit
from sklearn.linear_model import ElasticNetCV, LassoCV, LogisticRegressionCV
from sklearn.model_selection import KFold, StratifiedKFold

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")
N_FOLDS = 5
N_ALPHAS = 100
EPS = 1e-3
TOL = 1e-10
MAX_ITER = 1_000_000
GRID_RTOL = 1e-10


def load(name):
    raw = np.loadtxt(os.path.join(DATA, name), delimiter=",", skiprows=1,
                     dtype=np.float32).astype(np.float64)
    return raw[:, :-1], raw[:, -1]


def fold_ids(splits, n):
    """One fold id per row: the split whose test part holds the row."""
    ids = np.full(n, -1, dtype=np.int64)
    for k, (_, test) in enumerate(splits):
        assert (ids[test] == -1).all(), "a row is in two test folds"
        ids[test] = k
    assert (ids >= 0).all(), "a row is in no test fold"
    return ids


def alpha_max(X, y, l1_ratio):
    """max_j |Σ_i (x_ij − x̄_j)(y_i − ȳ)| / (n·R): the smallest alpha with w = 0."""
    xy = (X - X.mean(axis=0)).T @ (y - y.mean())
    return float(np.abs(xy).max()) / (X.shape[0] * l1_ratio)


def check_grid(alphas, X, y, l1_ratio):
    amax = alpha_max(X, y, l1_ratio)
    np.testing.assert_allclose(alphas[0], amax, rtol=GRID_RTOL,
                               err_msg=f"alpha_max (l1_ratio {l1_ratio})")
    np.testing.assert_allclose(alphas, np.geomspace(amax, amax * EPS, N_ALPHAS), rtol=GRID_RTOL,
                               err_msg=f"alphas = geomspace (l1_ratio {l1_ratio})")
    return amax


def lasso(X, y, splits):
    m = LassoCV(alphas=N_ALPHAS, eps=EPS, cv=splits, tol=TOL, max_iter=MAX_ITER).fit(X, y)
    alphas = np.asarray(m.alphas_)
    amax = check_grid(alphas, X, y, 1.0)
    mse_mean = m.mse_path_.mean(axis=1)
    index = int(np.argmin(mse_mean))
    assert alphas[index] == m.alpha_, (alphas[index], m.alpha_)
    return dict(
        call=f"LassoCV(alphas={N_ALPHAS}, eps={EPS}, cv=KFold({N_FOLDS}) splits, tol={TOL}, "
             f"max_iter={MAX_ITER})",
        alpha_max=amax,
        alphas=alphas.tolist(),
        mse_path=m.mse_path_.tolist(),
        mse_mean=mse_mean.tolist(),
        alpha=float(m.alpha_),
        alpha_index=index,
        coef=m.coef_.tolist(),
        intercept=float(m.intercept_),
    )


def enet(X, y, splits):
    l1_ratios = [0.1, 0.5, 0.9]
    m = ElasticNetCV(l1_ratio=l1_ratios, alphas=N_ALPHAS, eps=EPS, cv=splits, tol=TOL,
                     max_iter=MAX_ITER).fit(X, y)
    alphas = np.asarray(m.alphas_)  # (n_l1_ratios, n_alphas)
    amax = [check_grid(alphas[i], X, y, r) for i, r in enumerate(l1_ratios)]
    mse_mean = m.mse_path_.mean(axis=2)  # mse_path_: (n_l1_ratios, n_alphas, n_folds)
    i, j = np.unravel_index(int(np.argmin(mse_mean)), mse_mean.shape)
    assert l1_ratios[i] == m.l1_ratio_ and alphas[i, j] == m.alpha_, (i, j, m.l1_ratio_, m.alpha_)
    return dict(
        call=f"ElasticNetCV(l1_ratio={l1_ratios}, alphas={N_ALPHAS}, eps={EPS}, "
             f"cv=KFold({N_FOLDS}) splits, tol={TOL}, max_iter={MAX_ITER})",
        l1_ratios=l1_ratios,
        alpha_max=amax,
        alphas=alphas.tolist(),
        mse_path=m.mse_path_.tolist(),
        mse_mean=mse_mean.tolist(),
        alpha=float(m.alpha_),
        l1_ratio=float(m.l1_ratio_),
        l1_ratio_index=int(i),
        alpha_index=int(j),
        coef=m.coef_.tolist(),
        intercept=float(m.intercept_),
    )


def logistic(X, y, splits):
    n = X.shape[0]
    # scikit-learn 1.9: `penalty` is deprecated (l1_ratios=(0,) is plain L2), l1_ratios=None and
    # scoring=None warn about a changing default, and use_legacy_attributes=False gives plain
    # arrays (C_ a float, scores_ of shape (n_folds, n_l1_ratios, n_cs)).
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        m = LogisticRegressionCV(Cs=10, l1_ratios=(0.0,), scoring="neg_log_loss", cv=splits,
                                 solver="lbfgs", tol=TOL, max_iter=MAX_ITER,
                                 use_legacy_attributes=False).fit(X, y)
    Cs = np.asarray(m.Cs_)
    scores = np.asarray(m.scores_)[:, 0, :]  # (n_folds, n_cs)
    mean_score = scores.mean(axis=0)
    index = int(np.argmax(mean_score))
    C = float(np.asarray(m.C_).reshape(-1)[0])
    assert Cs[index] == C, (Cs[index], C)
    w = m.coef_.reshape(-1)
    b = float(m.intercept_.reshape(-1)[0])
    # The refit is the L2 model: the gradient of (1/n)Σ logloss + λ/2‖w‖², λ = 1/(C·n), is
    # Xᵀ(σ(z) − y)/n + λw (and Σ(σ(z) − y)/n for b). lbfgs stops on its ftol before tol=1e-10
    # is met: this is about 1e-8 here, the coefficients about 3e-7 from the exact optimum.
    r = expit(X @ w + b) - y
    grad = np.concatenate([X.T @ r / n + w / (C * n), [r.sum() / n]])
    grad_max = float(np.abs(grad).max())
    assert grad_max < 1e-6, grad_max
    # The scores are −mean log loss on each test fold of the fold's own fit, as sklearn's
    # log_loss computes it: from predict_proba's [1 − p, p], each clipped to [eps, 1 − eps]
    # (eps = 2.2e-16), which caps a row's loss at 36.04. Recomputed here, and also without the
    # clipping (log(1 + e^z) − y·z): the two differ where a fit is nearly separating (large C).
    paths = np.asarray(m.coefs_paths_)[:, 0, :, 0, :]  # (n_folds, n_cs, n_features + 1)
    eps = np.finfo(np.float64).eps
    exact = np.empty_like(scores)
    for k, (_, test) in enumerate(splits):
        z = X[test] @ paths[k, :, :-1].T + paths[k, :, -1]
        yt = y[test][:, None]
        p = expit(z)
        clipped = -(yt * np.log(np.clip(p, eps, 1 - eps))
                    + (1 - yt) * np.log(np.clip(1 - p, eps, 1 - eps))).mean(axis=0)
        np.testing.assert_allclose(-clipped, scores[k], rtol=1e-9, err_msg=f"fold {k} scores")
        exact[k] = (log_expit(z) - (1 - yt) * z).mean(axis=0)  # −(log(1 + e^z) − y·z)
    n_train = [int(len(train)) for train, _ in splits]
    n_train_mean = n * (N_FOLDS - 1) / N_FOLDS
    return dict(
        call="LogisticRegressionCV(Cs=10, l1_ratios=(0.0,), scoring='neg_log_loss', "
             f"cv=StratifiedKFold({N_FOLDS}) splits, solver='lbfgs', tol={TOL}, "
             f"max_iter={MAX_ITER}, use_legacy_attributes=False)",
        n_rows=n,
        n_train=n_train,
        n_train_mean=n_train_mean,
        Cs=Cs.tolist(),
        C=C,
        C_index=index,
        lambdas=(1.0 / (Cs * n_train_mean)).tolist(),
        scores=scores.tolist(),
        mean_score=mean_score.tolist(),
        scores_unclipped=exact.tolist(),
        mean_score_unclipped=exact.mean(axis=0).tolist(),
        coef=w.tolist(),
        intercept=b,
        refit_grad_max=grad_max,
    )


def main():
    X, y = load("diabetes_z.csv")
    splits = list(KFold(N_FOLDS).split(X))
    folds = fold_ids(splits, X.shape[0]).tolist()
    las = dict(dataset="tests/data/diabetes_z.csv", rows=X.shape[0], features=X.shape[1],
               folds=folds, **lasso(X, y, splits))
    en = dict(dataset="tests/data/diabetes_z.csv", rows=X.shape[0], features=X.shape[1],
              folds=folds, **enet(X, y, splits))

    Xc, yc = load("breast_cancer_z.csv")
    assert set(np.unique(yc)) == {0.0, 1.0}
    csplits = list(StratifiedKFold(N_FOLDS).split(Xc, yc))
    lo = dict(dataset="tests/data/breast_cancer_z.csv", rows=Xc.shape[0], features=Xc.shape[1],
              folds=fold_ids(csplits, Xc.shape[0]).tolist(), **logistic(Xc, yc, csplits))

    golden = dict(
        generator="scripts/make_sklearn_cv_golden.py",
        sklearn_version=sklearn.__version__,
        lasso=las,
        enet=en,
        logistic=lo,
    )
    out = os.path.join(DATA, "sklearn_cv.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {out}; scikit-learn {sklearn.__version__}; grids = geomspace(alpha_max, "
          f"alpha_max·{EPS}, {N_ALPHAS}): checked")
    print(f"  lasso:    alpha_max {las['alpha_max']:.6g}, alpha_ {las['alpha']:.6g} "
          f"(index {las['alpha_index']} of {N_ALPHAS}), min mean MSE "
          f"{min(las['mse_mean']):.6g}")
    print(f"  enet:     alpha_ {en['alpha']:.6g}, l1_ratio_ {en['l1_ratio']} (indices "
          f"{en['l1_ratio_index']}, {en['alpha_index']})")
    print(f"  logistic: C_ {lo['C']:.6g} (index {lo['C_index']} of {len(lo['Cs'])}), "
          f"λ {lo['lambdas'][lo['C_index']]:.6g}, mean neg log loss "
          f"{lo['mean_score'][lo['C_index']]:.6g}")


if __name__ == "__main__":
    main()
