//! The independent optimum for logistic and softmax regression: accelerated proximal gradient
//! (FISTA) in f64 over the full data, with backtracking on the step and adaptive restart, run until
//! the proximal-gradient residual ‖L·(y − prox(y − ∇f(y)/L))‖∞ falls below `RESIDUAL_TOL`.
//! It shares nothing with the minibatch solvers but the objective (which is checked by finite
//! differences on its own).
//!
//! Split: f = data loss + l2·‖W‖² + bias_l2·‖b‖² (smooth), g = l1·‖W‖₁ + bias_l1·‖b‖₁ (prox).

use super::exact::ExactSolution;
use crate::config::{Model, Penalty};
use crate::data::Dataset;
use crate::objective;
use crate::weights::Weights;

const RESIDUAL_TOL: f64 = 1e-12;
const MAX_ITERATIONS: usize = 200_000;

struct Problem<'a> {
    model: Model,
    data: &'a Dataset,
    penalty: &'a Penalty,
    fit_intercept: bool,
}

impl Problem<'_> {
    fn is_bias(&self, w: &Weights, k: usize) -> bool {
        k % w.stride() == w.features
    }

    fn l1_of(&self, w: &Weights, k: usize) -> f64 {
        if self.is_bias(w, k) {
            self.penalty.bias_l1
        } else {
            self.penalty.l1
        }
    }

    fn l2_of(&self, w: &Weights, k: usize) -> f64 {
        if self.is_bias(w, k) {
            self.penalty.bias_l2
        } else {
            self.penalty.l2
        }
    }

    /// f and ∇f.
    fn smooth_and_gradient(&self, w: &Weights) -> (f64, Weights) {
        let (loss, mut g) = objective::loss_and_data_gradient(self.model, self.data, w);
        let mut f = loss;
        for k in 0..w.values.len() {
            let l2 = self.l2_of(w, k);
            f += l2 * w.values[k] * w.values[k];
            g.values[k] += 2.0 * l2 * w.values[k];
        }
        (f, g)
    }

    fn smooth(&self, w: &Weights) -> f64 {
        let mut f = objective::data_loss(self.model, self.data, w);
        for k in 0..w.values.len() {
            f += self.l2_of(w, k) * w.values[k] * w.values[k];
        }
        f
    }

    /// prox of step·g at v: the soft-threshold, and b = 0 without an intercept.
    fn prox(&self, v: &mut Weights, step: f64) {
        for k in 0..v.values.len() {
            if self.is_bias(v, k) && !self.fit_intercept {
                v.values[k] = 0.0;
                continue;
            }
            let t = step * self.l1_of(v, k);
            let x = v.values[k];
            v.values[k] = objective::sign(x) * (x.abs() - t).max(0.0);
        }
    }
}

pub fn solve(
    model: Model,
    data: &Dataset,
    penalty: &Penalty,
    fit_intercept: bool,
) -> ExactSolution {
    let p = Problem {
        model,
        data,
        penalty,
        fit_intercept,
    };
    let zero = Weights::zeros(model.outputs(data.n_classes()), data.n_features());
    let mut x = zero.clone();
    let mut y = zero;
    let mut t = 1.0f64;
    let mut lipschitz = 1.0f64;
    let mut residual = f64::INFINITY;
    let mut iterations = MAX_ITERATIONS;
    for it in 1..=MAX_ITERATIONS {
        let (fy, gy) = p.smooth_and_gradient(&y);
        // Backtracking: grow L until the quadratic model at y bounds f at the new point.
        let x_new = loop {
            let mut cand = y.clone();
            for (c, g) in cand.values.iter_mut().zip(&gy.values) {
                *c -= g / lipschitz;
            }
            p.prox(&mut cand, 1.0 / lipschitz);
            let mut lin = 0.0;
            let mut sq = 0.0;
            for ((c, yv), g) in cand.values.iter().zip(&y.values).zip(&gy.values) {
                lin += g * (c - yv);
                sq += (c - yv) * (c - yv);
            }
            let bound = fy + lin + 0.5 * lipschitz * sq;
            let fc = p.smooth(&cand);
            if fc <= bound + 1e-15 * fy.abs().max(1.0) || lipschitz > 1e15 {
                break cand;
            }
            lipschitz *= 2.0;
        };
        residual = x_new
            .values
            .iter()
            .zip(&y.values)
            .map(|(a, b)| (lipschitz * (a - b)).abs())
            .fold(0.0, f64::max);
        if residual <= RESIDUAL_TOL {
            x = x_new;
            iterations = it;
            break;
        }
        // Restart the momentum when it points uphill (O'Donoghue and Candès).
        let uphill: f64 = y
            .values
            .iter()
            .zip(&x_new.values)
            .zip(&x.values)
            .map(|((yv, xn), xo)| (yv - xn) * (xn - xo))
            .sum();
        let t_next = if uphill > 0.0 {
            1.0
        } else {
            (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0
        };
        let beta = if uphill > 0.0 {
            0.0
        } else {
            (t - 1.0) / t_next
        };
        y = x_new.clone();
        for (yv, (xn, xo)) in y.values.iter_mut().zip(x_new.values.iter().zip(&x.values)) {
            *yv = xn + beta * (xn - xo);
        }
        x = x_new;
        t = t_next;
        // Let the step grow again slowly, so one early bad estimate does not slow every step.
        lipschitz *= 0.95;
    }
    let objective = objective::evaluate(model, data, penalty, &x);
    ExactSolution {
        weights: x,
        objective,
        method: "accelerated proximal gradient (FISTA, f64)",
        optimality: residual,
        iterations,
    }
}
