#!/usr/bin/env python3
"""Writes the scikit-learn golden values for gpu-regfit's exact (default) solvers, sample weights
and class weights, checked to be the true optimum, so the Rust tests need no Python.

    pip install scikit-learn numpy scipy && python3 scripts/make_sklearn_golden_defaults.py

Outputs, in tests/data/ (X z-scored with the population std, as StandardScaler, and THEN rounded to
f32; every value is written with enough digits that parsing it as f32 or f64 gives exactly that
f32, and every golden fit uses exactly those values, so the tests read identical data):
  diabetes_z.csv             load_diabetes(scaled=False), 442 x 10, y (f32) last
  breast_cancer_z.csv        load_breast_cancer, 569 x 30, label 0/1 last
  iris_z.csv                 load_iris, 150 x 4, class 0/1/2 last
  diabetes_zw.csv            diabetes_z plus a sample-weight column `sw` just before y
  breast_cancer_zw.csv       breast_cancer_z plus `sw`
                             (sw: np.random.default_rng(0).uniform(0.2, 3.0, n) for each file,
                             rounded to f32, and exactly 0 on rows 0, 10, 20, ...)
  sklearn_defaults.json      the cases below: for each, the gpu-regfit flags that express it
                             (`args`, besides --data), (l1, l2) by the conversions in README.md,
                             `sample_weight` (null or the column name), `class_weight` (null,
                             "balanced" or {"label": weight}), coef as K rows of d (K = 1 except
                             softmax), K intercepts (softmax ones as scikit-learn gives them: they
                             are fixed only up to a common shift), `objective` J at the solution and
                             `sum_weights` Σs, in the convention
                               J(W, b) = (1/Σs) Σᵢ sᵢ·loss(zᵢ, yᵢ) + l1·‖W‖₁ + l2·‖W‖₂²,
                             sᵢ = sample_weight × class_weight[yᵢ] (1 when absent).

Cases: Lasso(0.1) and ElasticNet(0.5, l1_ratio=0.3) on diabetes, unweighted and with sample_weight;
LogisticRegression(C=1) with L2, with L1 (saga; liblinear would penalize the intercept), with
class_weight="balanced" and with sample_weight on breast_cancer; multinomial
LogisticRegression(C=1, L2) on iris, unweighted and with class_weight={0: 1, 1: 2, 2: 0.5}.

Every case is checked, and the check printed, against an independent solve in f64: an active-set
Newton method (Newton on the nonzero coefficients and the intercepts, the zero coefficients held
by their KKT condition |∂f/∂wⱼ| ≤ l1) started from scikit-learn's answer, and L-BFGS(-B) on the
smooth split w = u − v (u, v ≥ 0) started from zero. The JSON holds scikit-learn's answer when it
is within 1e-9 (relative to the largest |coef|) of the Newton optimum, and the Newton optimum
otherwise ("polished": true). The script fails if a check does not hold.
"""
import json
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logsumexp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data")
GENERATOR = "scripts/make_sklearn_golden_defaults.py"

# Agreement required between scikit-learn's answer and the Newton optimum before scikit-learn's
# is stored as is (max |Δ| / max |coef|, intercepts included, softmax intercepts centred).
STORE_RTOL = 1e-9
# What the stored answer must meet: KKT residual relative to the gradient scale of the problem,
# and the independent L-BFGS objective may not be below the stored one by more than this relative.
KKT_RTOL = 1e-11
OBJ_RTOL = 1e-12


# ----------------------------------------------------------------------------------------------
# Data


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def zscore_then_f32(X):
    X = np.asarray(X, dtype=np.float64)
    return f32((X - X.mean(axis=0)) / X.std(axis=0))


def fmt_f32(v):
    """The shortest decimal that parses (as f64) to exactly this f32 value; parsing it as f32
    gives the same value, as the f64 is already an f32."""
    return repr(float(np.float32(v)))


def sample_weights(n):
    rng = np.random.default_rng(0)
    sw = f32(rng.uniform(0.2, 3.0, n))
    sw[::10] = 0.0
    return sw


def save_csv(name, X, y, sw=None, y_int=False):
    d = X.shape[1]
    cols = [f"x{j}" for j in range(d)] + (["sw"] if sw is not None else []) + ["y"]
    path = os.path.join(OUT, name)
    lines = [",".join(cols)]
    for i in range(X.shape[0]):
        row = [fmt_f32(v) for v in X[i]]
        if sw is not None:
            row.append(fmt_f32(sw[i]))
        row.append(str(int(y[i])) if y_int else fmt_f32(y[i]))
        lines.append(",".join(row))
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    check_csv(path, X, y, sw)
    print(f"wrote {name}: {X.shape[0]} x {d}" + (" + sw" if sw is not None else ""))


def check_csv(path, X, y, sw):
    """Read the file back both ways (as f64 and directly as f32) and demand identical values."""
    with open(path) as f:
        next(f)
        cells = [line.rstrip("\n").split(",") for line in f]
    full = np.column_stack([X] + ([sw] if sw is not None else []) + [y])
    as_f64 = np.array([[float(c) for c in row] for row in cells])
    as_f32 = np.array(cells, dtype=np.float32).astype(np.float64)
    if not (np.array_equal(as_f64, full) and np.array_equal(as_f32, full)):
        raise SystemExit(f"{path}: the values do not read back exactly")


def datasets():
    Xd, yd = load_diabetes(return_X_y=True, scaled=False)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xi, yi = load_iris(return_X_y=True)
    data = {
        "diabetes": (zscore_then_f32(Xd), f32(yd)),
        "breast_cancer": (zscore_then_f32(Xb), yb.astype(np.int64)),
        "iris": (zscore_then_f32(Xi), yi.astype(np.int64)),
    }
    save_csv("diabetes_z.csv", *data["diabetes"])
    save_csv("breast_cancer_z.csv", *data["breast_cancer"], y_int=True)
    save_csv("iris_z.csv", *data["iris"], y_int=True)
    sw = {k: sample_weights(data[k][0].shape[0]) for k in ["diabetes", "breast_cancer"]}
    save_csv("diabetes_zw.csv", *data["diabetes"], sw=sw["diabetes"])
    save_csv("breast_cancer_zw.csv", *data["breast_cancer"], sw=sw["breast_cancer"], y_int=True)
    return data, sw


# ----------------------------------------------------------------------------------------------
# The objective, in float64, and an independent active-set Newton solve


class Problem:
    """J(W, b) = (1/Σs) Σᵢ sᵢ loss(zᵢ, yᵢ) + l1‖W‖₁ + l2‖W‖², θ = [W row by row, b]."""

    def __init__(self, model, X, y, s, l1, l2):
        self.model, self.X, self.y, self.s = model, X, y, s
        self.l1, self.l2 = l1, l2
        self.n, self.d = X.shape
        self.K = int(y.max()) + 1 if model == "softmax" else 1
        self.S = float(s.sum())
        self.Xt = np.column_stack([X, np.ones(self.n)])  # with the intercept column
        if model == "softmax":
            self.Y = np.eye(self.K)[y]

    @property
    def nw(self):
        return self.K * self.d

    def unpack(self, theta):
        return theta[: self.nw].reshape(self.K, self.d), theta[self.nw:]

    def pack(self, W, b):
        return np.concatenate([np.asarray(W, float).reshape(-1), np.atleast_1d(b).astype(float)])

    def smooth(self, theta, hess=False):
        """f = data term + l2‖W‖², its gradient and (optionally) its Hessian in θ."""
        W, b = self.unpack(theta)
        Z = self.X @ W.T + b  # n x K
        s, S = self.s, self.S
        if self.model == "linear":
            r = Z[:, 0] - self.y
            loss = 0.5 * r * r
            R = r[:, None]
            curv = np.ones(self.n)
        elif self.model == "logistic":
            z = Z[:, 0]
            loss = -log_expit(z) + (1 - self.y) * z  # log(1 + e^z) − y z, stably
            p = expit(z)
            R = (p - self.y)[:, None]
            curv = p * (1 - p)
        else:
            lse = logsumexp(Z, axis=1)
            loss = lse - Z[np.arange(self.n), self.y]
            P = np.exp(Z - lse[:, None])
            R = P - self.Y
        f = float(np.dot(s, loss)) / S + self.l2 * float(np.sum(W * W))
        G = (R * s[:, None]).T @ self.Xt / S  # K x (d + 1)
        gW = G[:, : self.d] + 2 * self.l2 * W
        g = self.pack(gW, G[:, self.d])
        if not hess:
            return f, g, None
        p1 = self.d + 1
        if self.model != "softmax":
            Hx = (self.Xt * (s * curv)[:, None]).T @ self.Xt / S  # (d+1) x (d+1), order [w, b]
            H = Hx
        else:
            # H[(k,j),(l,m)] = Σᵢ sᵢ (δ_kl p_ik − p_ik p_il) x̃ᵢⱼ x̃ᵢₘ / S
            A = np.einsum("ik,kl->ikl", P, np.eye(self.K)) - np.einsum("ik,il->ikl", P, P)
            A *= s[:, None, None] / S
            H4 = np.einsum("ikl,ij,im->kjlm", A, self.Xt, self.Xt)
            H = H4.reshape(self.K * p1, self.K * p1)
        # reorder from per-class [w_k, b_k] blocks to θ = [W, b]
        order = [k * p1 + j for k in range(self.K) for j in range(self.d)] + \
                [k * p1 + self.d for k in range(self.K)]
        H = H[np.ix_(order, order)]
        H[np.arange(self.nw), np.arange(self.nw)] += 2 * self.l2
        return f, g, H

    def objective(self, theta):
        W, _ = self.unpack(theta)
        return self.smooth(theta)[0] + self.l1 * float(np.abs(W).sum())

    def kkt(self, theta):
        """(residual, zero margin): the largest violation of the optimality conditions in gradient
        units (intercepts: ∂f/∂b = 0; wⱼ ≠ 0: ∂f/∂wⱼ + l1 sign(wⱼ) = 0; wⱼ = 0: |∂f/∂wⱼ| ≤ l1),
        and min over zero coefficients of l1 − |∂f/∂wⱼ| (how safely they are zero)."""
        _, g = self.smooth(theta)[:2]
        w, gw, gb = theta[: self.nw], g[: self.nw], g[self.nw:]
        nz = w != 0
        res = [np.abs(gb).max(), np.abs(gw[nz] + self.l1 * np.sign(w[nz])).max(initial=0.0),
               np.maximum(np.abs(gw[~nz]) - self.l1, 0).max(initial=0.0)]
        margin = (self.l1 - np.abs(gw[~nz])).min(initial=np.inf)
        return max(res), margin

    def error_bound(self, theta):
        """‖θ − θ*‖₂ ≤ ‖KKT residual on the free variables‖₂ / λmin(Hessian on them), for θ
        with θ*'s zero pattern (strong convexity on the free set; the softmax intercepts' common
        shift, the Hessian's null direction, is left out)."""
        _, g, H = self.smooth(theta, hess=True)
        free = np.ones(theta.size, bool)
        free[: self.nw] = theta[: self.nw] != 0
        sigma = np.zeros(theta.size)
        sigma[: self.nw] = np.sign(theta[: self.nw])
        r = (g + self.l1 * sigma)[free]
        ev = np.linalg.eigvalsh(H[np.ix_(free, free)])
        lam = ev[1] if self.model == "softmax" else ev[0]
        if self.model == "softmax":  # drop the component along the common intercept shift
            u = np.zeros(theta.size)
            u[self.nw:] = 1 / np.sqrt(self.K)
            r = r - (r @ u[free]) * u[free]
        return float(np.linalg.norm(r)) / lam, lam

    def grad_scale(self):
        """max |∂f/∂θ| at W = 0 with the best intercepts: the size of the gradients of this
        problem, the scale for the KKT residual."""
        b0 = np.zeros(self.K)
        if self.model == "linear":
            b0[0] = np.dot(self.s, self.y) / self.S
        elif self.model == "logistic":
            p = np.dot(self.s, self.y) / self.S
            b0[0] = np.log(p / (1 - p))
        else:
            freq = (self.Y * self.s[:, None]).sum(0) / self.S
            b0 = np.log(freq) - np.log(freq).mean()
        _, g, _ = self.smooth(self.pack(np.zeros((self.K, self.d)), b0))
        return max(float(np.abs(g).max()), self.l1)

    def lipschitz(self):
        c = {"linear": 1.0, "logistic": 0.25, "softmax": 0.5}[self.model]
        M = (self.Xt * self.s[:, None]).T @ self.Xt / self.S
        return c * float(np.linalg.eigvalsh(M)[-1]) + 2 * self.l2

    def prox_residual(self, theta):
        """‖θ − prox_{t·l1}(θ − t∇f)‖∞ with t = 1/L: one proximal-gradient step's length."""
        t = 1.0 / self.lipschitz()
        _, g, _ = self.smooth(theta)
        v = theta - t * g
        v[: self.nw] = np.sign(v[: self.nw]) * np.maximum(np.abs(v[: self.nw]) - t * self.l1, 0)
        return float(np.abs(theta - v).max())


def newton_polish(prob, theta, max_outer=50, max_newton=100):
    """Active-set Newton: Newton steps on the free variables (nonzero coefficients, intercepts)
    of f + l1·σᵀw with the signs σ held; a coefficient that would cross zero stops the step there
    and leaves the free set; a zero coefficient whose |∂f/∂wⱼ| exceeds l1 joins it."""
    theta = theta.copy()
    nw = prob.nw
    for _ in range(max_outer):
        free = np.ones(theta.size, bool)
        if prob.l1 > 0:
            free[:nw] = theta[:nw] != 0
        sigma = np.zeros(theta.size)
        sigma[:nw] = np.sign(theta[:nw])
        for _ in range(max_newton):
            f, g, H = prob.smooth(theta, hess=True)
            g = g + prob.l1 * sigma
            gf, Hf = g[free], H[np.ix_(free, free)]
            step = np.zeros(theta.size)
            step[free] = -np.linalg.lstsq(Hf, gf, rcond=1e-14)[0]
            # the largest t in (0, 1] keeping every free coefficient's sign
            t_max, hit = 1.0, None
            if prob.l1 > 0:
                idx = np.flatnonzero(free[:nw] & (theta[:nw] * step[:nw] < 0))
                for j in idx:
                    tj = -theta[j] / step[j]
                    if tj < t_max:
                        t_max, hit = tj, j
            F0 = prob.objective(theta)
            t = t_max
            while True:
                cand = theta + t * step
                if hit is not None and t == t_max:
                    cand[hit] = 0.0
                if prob.objective(cand) <= F0 + 1e-4 * t * float(g @ step) or t < 1e-12:
                    break
                t *= 0.5
            moved = np.abs(cand - theta).max()
            theta = cand
            if hit is not None and t == t_max:
                free[hit], sigma[hit] = False, 0.0
                continue
            if moved <= 1e-16 * max(1.0, np.abs(theta).max()):
                break
            if np.abs(gf).max() <= 1e-15 * prob.grad_scale() and t == 1.0:
                # one more step has been taken from a point that was already converged
                break
        if prob.l1 == 0:
            return theta
        # zero coefficients that violate |∂f/∂wⱼ| ≤ l1 join the free set with sign −sign(∂f/∂wⱼ)
        _, g, _ = prob.smooth(theta)
        viol = np.flatnonzero((theta[:nw] == 0) & (np.abs(g[:nw]) > prob.l1 * (1 + 1e-12)))
        if viol.size == 0:
            return theta
        j = viol[np.argmax(np.abs(g[viol]))]
        # a tiny move along the descent direction to enter the free set with the right sign
        theta[j] = -np.sign(g[j]) * 1e-12 * max(1.0, np.abs(theta[:nw]).max())
    raise RuntimeError("active-set Newton did not settle")


def lbfgs_independent(prob):
    """L-BFGS-B from zero on the smooth split W = U − V, U, V ≥ 0 (plain L-BFGS when l1 = 0)."""
    nw, K = prob.nw, prob.K
    if prob.l1 == 0:
        fun = lambda th: prob.smooth(th)[:2]
        x0 = np.zeros(nw + K)
        bounds = None
    else:
        def fun(x):
            u, v, b = x[:nw], x[nw: 2 * nw], x[2 * nw:]
            f, g, _ = prob.smooth(np.concatenate([u - v, b]))
            f += prob.l1 * float(u.sum() + v.sum())
            gw = g[:nw]
            return f, np.concatenate([gw + prob.l1, -gw + prob.l1, g[nw:]])
        x0 = np.zeros(2 * nw + K)
        bounds = [(0, None)] * (2 * nw) + [(None, None)] * K
    r = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                 options=dict(maxiter=200_000, maxfun=400_000, maxcor=50, ftol=1e-16,
                              gtol=1e-14))
    x = r.x
    theta = x if prob.l1 == 0 else np.concatenate([x[:nw] - x[nw: 2 * nw], x[2 * nw:]])
    return theta, r.nit


# ----------------------------------------------------------------------------------------------
# The cases


def comparable(prob, theta):
    th = theta.copy()
    if prob.model == "softmax":
        th[prob.nw:] -= th[prob.nw:].mean()
    return th


def run_case(cases, name, data_file, model, args, X, y, s, l1, l2, fit, sample_weight=None,
             class_weight=None):
    prob = Problem(model, X, y, s, l1, l2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est, note = fit()
    warned = [str(w.message).splitlines()[0] for w in caught
              if issubclass(w.category, ConvergenceWarning)]
    K = prob.K
    theta_sk = prob.pack(np.reshape(est.coef_, (K, prob.d)), np.reshape(est.intercept_, (K,)))
    theta_nt = newton_polish(prob, theta_sk)
    theta_lb, lb_iter = lbfgs_independent(prob)

    scale = max(np.abs(theta_nt[: prob.nw]).max(), 1e-300)
    gscale = prob.grad_scale()
    diff_sk = np.abs(comparable(prob, theta_sk) - comparable(prob, theta_nt)).max() / scale
    diff_lb = np.abs(comparable(prob, theta_lb) - comparable(prob, theta_nt)).max() / scale
    J_sk, J_nt, J_lb = (prob.objective(t) for t in (theta_sk, theta_nt, theta_lb))
    kkt_sk, _ = prob.kkt(theta_sk)
    kkt_nt, margin = prob.kkt(theta_nt)
    same_zeros = np.array_equal(theta_sk[: prob.nw] == 0, theta_nt[: prob.nw] == 0)

    polished = not (diff_sk <= STORE_RTOL and same_zeros)
    theta = theta_nt if polished else theta_sk
    J = J_nt if polished else J_sk
    kkt, _ = prob.kkt(theta)
    prox = prob.prox_residual(theta)

    print(f"\n{name}  [{data_file}, {model}, n={prob.n}, d={prob.d}, K={K}, Σs={prob.S!r}]")
    print(f"  scikit-learn: {note}" + (f"; ConvergenceWarning: {warned[0]}" if warned else ""))
    print(f"  KKT residual / gradient scale ({gscale:.3g}): scikit-learn {kkt_sk / gscale:.2e}, "
          f"Newton {kkt_nt / gscale:.2e}" +
          (f"; zero coefficients: {int((theta_nt[:prob.nw] == 0).sum())}, "
           f"smallest margin l1 − |∂f/∂wⱼ| = {margin / prob.l1:.2e}·l1" if l1 > 0 else ""))
    print(f"  max |Δ| / max |coef|: scikit-learn vs Newton {diff_sk:.2e} (same zeros: "
          f"{same_zeros}), L-BFGS{'-B' if l1 > 0 else ''} ({lb_iter} it, from 0) vs Newton "
          f"{diff_lb:.2e}")
    print(f"  J: Newton {J_nt!r}; scikit-learn − Newton {J_sk - J_nt:+.2e}, "
          f"L-BFGS − Newton {J_lb - J_nt:+.2e} (relative {(J_lb - J_nt) / abs(J_nt):+.2e})")
    bound, lam = prob.error_bound(theta)
    print(f"  stored: {'Newton-polished' if polished else 'scikit-learn'}; KKT/scale "
          f"{kkt / gscale:.2e}, prox-gradient step (t = 1/L) / max|coef| {prox / scale:.2e}, "
          f"distance to the optimum / max|coef| ≤ {bound / scale:.2e} (λmin on the free set "
          f"{lam:.2e})")

    problems = []
    if kkt > KKT_RTOL * gscale:
        problems.append(f"KKT residual {kkt / gscale:.2e} > {KKT_RTOL}")
    if not bound <= STORE_RTOL * scale:
        problems.append(f"distance to the optimum may be {bound / scale:.2e} > {STORE_RTOL}")
    if J_lb < J - OBJ_RTOL * abs(J):
        problems.append(f"the independent L-BFGS objective is lower by {(J - J_lb) / abs(J):.2e}")
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))

    W, b = prob.unpack(theta)
    cases.append(dict(
        name=name, data=data_file, model=model, args=args, l1=l1, l2=l2,
        sample_weight=sample_weight, class_weight=class_weight,
        rows=prob.n, features=prob.d,
        coef=W.tolist(), intercept=b.tolist(),
        objective=J, sum_weights=prob.S,
        polished=bool(polished), kkt_residual=kkt,
    ))


def main():
    os.makedirs(OUT, exist_ok=True)
    data, sw = datasets()
    cases = []
    Xd, yd = data["diabetes"]
    Xb, yb = data["breast_cancer"]
    Xi, yi = data["iris"]
    nd, nb, ni = Xd.shape[0], Xb.shape[0], Xi.shape[0]
    C = 1.0
    # Coordinate descent stopped on its duality gap; Newton (newton-cholesky, which handles the
    # multinomial loss too) for the L2 classifiers: lbfgs stops ~1e-6 short of the optimum even at
    # tol=1e-14. saga for L1, the one solver with an unpenalized intercept and an L1 penalty.
    cd_tight = dict(tol=1e-14, max_iter=10_000_000)
    newton_tight = dict(l1_ratio=0.0, solver="newton-cholesky", tol=1e-14, max_iter=1000)

    def sk_fit(make, X, y, s=None):
        def go():
            est = make()
            est.fit(X, y, sample_weight=s)
            return est, f"{est!r}, n_iter_ {np.max(est.n_iter_)}"
        return go

    def linear_cases(weighted):
        f = "diabetes_zw.csv" if weighted else "diabetes_z.csv"
        s = sw["diabetes"] if weighted else None
        extra, tag = (["--sample-weight", "sw"], ", sample_weight=sw") if weighted else ([], "")
        col = "sw" if weighted else None
        s_or_1 = s if weighted else np.ones(nd)
        run_case(cases, f"Lasso(alpha=0.1{tag})", f, "linear",
                 ["--alpha", "0.1", "--l1-ratio", "1"] + extra, Xd, yd, s_or_1, 0.1, 0.0,
                 sk_fit(lambda: Lasso(alpha=0.1, **cd_tight), Xd, yd, s), sample_weight=col)
        alpha, ratio = 0.5, 0.3
        run_case(cases, f"ElasticNet(alpha=0.5, l1_ratio=0.3{tag})", f, "linear",
                 ["--alpha", "0.5", "--l1-ratio", "0.3"] + extra, Xd, yd, s_or_1,
                 alpha * ratio, alpha * (1 - ratio) / 2,
                 sk_fit(lambda: ElasticNet(alpha=alpha, l1_ratio=ratio, **cd_tight), Xd, yd, s),
                 sample_weight=col)

    # a, b. diabetes: Lasso and ElasticNet
    linear_cases(weighted=False)

    # c, d. breast_cancer: LogisticRegression(C=1), L2 and L1. scikit-learn minimizes
    # C·Σ sᵢ loss + ½‖w‖² (L2) or ‖w‖₁ (L1); divided by C·Σs that is J.
    l2 = 1 / (2 * C * nb)
    run_case(cases, "LogisticRegression(C=1, L2)", "breast_cancer_z.csv", "logistic",
             ["--model", "logistic", "--l2", repr(l2)], Xb, yb, np.ones(nb), 0.0, l2,
             sk_fit(lambda: LogisticRegression(C=C, **newton_tight), Xb, yb))
    l1 = 1 / (C * nb)
    run_case(cases, "LogisticRegression(C=1, L1)", "breast_cancer_z.csv", "logistic",
             ["--model", "logistic", "--l1", repr(l1)], Xb, yb, np.ones(nb), l1, 0.0,
             sk_fit(lambda: LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12,
                                               max_iter=1_000_000, random_state=0), Xb, yb))

    # e. iris: multinomial LogisticRegression(C=1, L2)
    l2 = 1 / (2 * C * ni)
    run_case(cases, "multinomial LogisticRegression(C=1, L2)", "iris_z.csv", "softmax",
             ["--model", "softmax", "--l2", repr(l2)], Xi, yi, np.ones(ni), 0.0, l2,
             sk_fit(lambda: LogisticRegression(C=C, **newton_tight), Xi, yi))

    # f, g. diabetes with sample_weight (scikit-learn's Lasso / ElasticNet minimize
    # (1/(2Σs)) Σ sᵢ rᵢ² + penalty: J as it is)
    linear_cases(weighted=True)

    # h. breast_cancer, class_weight="balanced": sᵢ = n / (2·count[yᵢ])
    s = (nb / (2 * np.bincount(yb)))[yb]
    l2 = 1 / (2 * C * float(s.sum()))
    run_case(cases, "LogisticRegression(C=1, L2, class_weight='balanced')",
             "breast_cancer_z.csv", "logistic",
             ["--model", "logistic", "--class-weight", "balanced", "--l2", repr(l2)],
             Xb, yb, s, 0.0, l2,
             sk_fit(lambda: LogisticRegression(C=C, class_weight="balanced", **newton_tight),
                    Xb, yb),
             class_weight="balanced")

    # i. breast_cancer with sample_weight
    s = sw["breast_cancer"]
    l2 = 1 / (2 * C * float(s.sum()))
    run_case(cases, "LogisticRegression(C=1, L2, sample_weight=sw)", "breast_cancer_zw.csv",
             "logistic", ["--model", "logistic", "--sample-weight", "sw", "--l2", repr(l2)],
             Xb, yb, s, 0.0, l2,
             sk_fit(lambda: LogisticRegression(C=C, **newton_tight), Xb, yb, s),
             sample_weight="sw")

    # j. iris, class_weight={0: 1, 1: 2, 2: 0.5}
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    s = np.array([cw[k] for k in yi])
    l2 = 1 / (2 * C * float(s.sum()))
    run_case(cases, "multinomial LogisticRegression(C=1, L2, class_weight={0: 1, 1: 2, 2: 0.5})",
             "iris_z.csv", "softmax",
             ["--model", "softmax", "--class-weight", "0=1,1=2,2=0.5", "--l2", repr(l2)],
             Xi, yi, s, 0.0, l2,
             sk_fit(lambda: LogisticRegression(C=C, class_weight=cw, **newton_tight), Xi, yi),
             class_weight={str(k): v for k, v in cw.items()})

    golden = dict(generator=GENERATOR, sklearn_version=sklearn.__version__,
                  numpy_version=np.__version__, scipy_version=scipy.__version__, cases=cases)
    path = os.path.join(OUT, "sklearn_defaults.json")
    with open(path + ".tmp", "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"\nwrote sklearn_defaults.json: {len(cases)} cases; scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
