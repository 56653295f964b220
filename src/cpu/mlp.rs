//! The network's CPU twins, one per WGSL kernel of shaders/mlp_*.wgsl with the same inputs, in
//! f64, and the reference engine built from them: the same batches and the same update rule per
//! parameter tensor as the GPU's, so the two can be compared step for step.

use super::kernels::{self, UpdateRule};
use super::reference::HostState;
use crate::checkpoint::OptimizerState;
use crate::config::{FitConfig, Model};
use crate::data::Dataset;
use crate::error::Result;
use crate::fit::{Engine, LogPoint};
use crate::network::{self, Activation, Layer};
use crate::objective;
use crate::schedule::{Batch, Epoch};
use crate::weights::Weights;
use ndarray::{Array2, ArrayView2, Axis};

/// Twin of shaders/mlp_forward.wgsl: A_out = act(A_in Wᵀ + b) (no activation on the last layer).
pub fn mlp_forward(
    values: &[f64],
    layer: &Layer,
    input: ArrayView2<f64>,
    activation: Option<Activation>,
) -> Array2<f64> {
    network::dense(values, layer, input, activation)
}

/// Twin of shaders/mlp_output.wgsl: δ = ŵᵢ·rᵢ/m per row, rᵢ the residual of row i's logits
/// (objective::residuals: softmax − onehot, or z − y), ŵ the row's sample weight (1 without).
pub fn mlp_output(
    model: Model,
    logits: ArrayView2<f64>,
    targets: &[f32],
    row_weights: Option<&[f32]>,
    inv_batch: f64,
) -> Array2<f64> {
    let mut delta = logits.to_owned();
    for (i, mut row) in delta.axis_iter_mut(Axis(0)).enumerate() {
        let z = row.as_slice_mut().expect("standard layout");
        objective::residuals(model, z, targets[i]);
        let scale = inv_batch * row_weights.map_or(1.0, |w| f64::from(w[i]));
        z.iter_mut().for_each(|r| *r *= scale);
    }
    delta
}

/// Twin of shaders/mlp_weight_grad.wgsl: the layer's gradient Σᵢ δᵢ ⊗ [aᵢ, 1] (outputs ×
/// (inputs + 1), the parameter layout), the mean already in δ.
pub fn mlp_weight_grad(delta: ArrayView2<f64>, input: ArrayView2<f64>) -> Vec<f64> {
    let (outputs, inputs) = (delta.ncols(), input.ncols());
    let gw = delta.t().dot(&input);
    let gb = delta.sum_axis(Axis(0));
    let mut out = Vec::with_capacity(outputs * (inputs + 1));
    for j in 0..outputs {
        out.extend(gw.row(j).iter());
        out.push(gb[j]);
    }
    out
}

/// Twin of shaders/mlp_input_grad.wgsl: δ_in = (δ W) ⊙ act′, act′ read from the layer's input
/// activations `a_in` (relu′ = [a > 0], tanh′ = 1 − a²).
pub fn mlp_input_grad(
    delta: ArrayView2<f64>,
    values: &[f64],
    layer: &Layer,
    a_in: ArrayView2<f64>,
    activation: Activation,
) -> Array2<f64> {
    let m = ArrayView2::from_shape((layer.outputs, layer.stride()), &values[layer.range()])
        .expect("a layer's slice has its shape");
    let w = m.slice_move(ndarray::s![.., ..layer.inputs]);
    let mut d_in = delta.dot(&w);
    d_in.zip_mut_with(&a_in, |d, &a| *d *= activation.derivative_from_output(a));
    d_in
}

/// The update rule of each layer: the fit's settings with the layer's penalty.
pub fn layer_rules(cfg: &FitConfig, layers: usize) -> Vec<UpdateRule> {
    let spec = cfg.network.as_ref();
    (1..=layers)
        .map(|l| {
            UpdateRule::new(
                cfg,
                spec.map_or(cfg.penalty, |s| s.penalty_of(l, &cfg.penalty)),
            )
        })
        .collect()
}

/// The network's reference engine (f64).
pub struct MlpCpuEngine<'a> {
    state: HostState<'a>,
    rules: Vec<UpdateRule>,
    activation: Activation,
    layers: Vec<Layer>,
}

impl<'a> MlpCpuEngine<'a> {
    pub fn new(data: &'a Dataset, validation: Option<&'a Dataset>, cfg: &FitConfig) -> Self {
        let weights = crate::fit::initial_weights(cfg, data);
        let layers = weights.layers();
        MlpCpuEngine {
            rules: layer_rules(cfg, layers.len()),
            activation: cfg
                .network
                .as_ref()
                .map_or(Activation::Relu, |n| n.activation),
            layers,
            state: HostState::new(cfg.model, data, validation, weights),
        }
    }

    /// One minibatch step: the batch's gradient of every layer (the backward pass reads the
    /// weights before this step), then each layer's update.
    fn step(&mut self, batch: Batch, lr: f64) {
        let s = &mut self.state;
        let rows = &s.order[batch.start..batch.start + batch.rows];
        let grad = batch_gradient(s.model, self.activation, &s.weights, s.data, rows);
        for (layer, rule) in self.layers.iter().zip(&self.rules) {
            kernels::update_tensor(
                &grad[layer.range()],
                1.0,
                lr,
                rule,
                &mut s.weights.values[layer.range()],
                layer.inputs,
                &mut s.velocity[layer.range()],
            );
        }
    }
}

/// The data term's gradient over `rows` of `data` (their mean, with sample weights), every
/// layer in the parameter layout: forward, output residuals, then from the last layer its
/// weight gradient and its input residuals.
pub fn batch_gradient(
    model: Model,
    activation: Activation,
    w: &Weights,
    data: &Dataset,
    rows: &[u32],
) -> Vec<f64> {
    let d = data.n_features();
    let (x, y) = (data.x_slice(), data.y_slice());
    let xb = Array2::from_shape_fn((rows.len(), d), |(i, j)| {
        f64::from(x[rows[i] as usize * d + j])
    });
    let targets: Vec<f32> = rows.iter().map(|&r| y[r as usize]).collect();
    let row_weights: Option<Vec<f32>> = data
        .row_weights()
        .map(|rw| rows.iter().map(|&r| rw[r as usize]).collect());
    let acts = network::forward(w, xb.view());
    let logits = acts.last().expect("a network has layers");
    let mut delta = mlp_output(
        model,
        logits.view(),
        &targets,
        row_weights.as_deref(),
        1.0 / rows.len() as f64,
    );
    let layers = w.layers();
    let mut grad = vec![0.0; w.values.len()];
    for l in (0..layers.len()).rev() {
        let layer = layers[l];
        let input = if l == 0 {
            xb.view()
        } else {
            acts[l - 1].view()
        };
        grad[layer.range()].copy_from_slice(&mlp_weight_grad(delta.view(), input));
        if l > 0 {
            delta = mlp_input_grad(
                delta.view(),
                &w.values,
                &layer,
                acts[l - 1].view(),
                activation,
            );
        }
    }
    grad
}

/// ∇J at `w` over every row: the data term's gradient plus each layer's penalty gradient
/// (l1·sign(w) + 2·l2·w, the biases' with bias_l1 and bias_l2). What the finite-difference check
/// of the whole network compares with.
pub fn gradient(cfg: &FitConfig, data: &Dataset, w: &Weights) -> Vec<f64> {
    let activation = cfg
        .network
        .as_ref()
        .map_or(Activation::Relu, |n| n.activation);
    let rows: Vec<u32> = (0..data.n_rows() as u32).collect();
    let mut grad = batch_gradient(cfg.model, activation, w, data, &rows);
    for (layer, rule) in w.layers().iter().zip(layer_rules(cfg, w.layers().len())) {
        for (k, g) in grad[layer.range()].iter_mut().enumerate() {
            let v = w.values[layer.offset + k];
            let (l1, l2) = rule
                .penalty
                .of_coordinate(k % layer.stride() == layer.inputs);
            *g += l1 * objective::sign(v) + 2.0 * l2 * v;
        }
    }
    grad
}

impl Engine for MlpCpuEngine<'_> {
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn snapshot(&mut self) -> Result<OptimizerState> {
        Ok(self.state.snapshot())
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<()> {
        self.state.restore(state)
    }

    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()> {
        self.state.set_epoch(epoch);
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        for (batch, &lr) in batches.iter().zip(lrs) {
            self.step(*batch, lr);
        }
        Ok(())
    }

    fn request_log(&mut self) -> Result<()> {
        self.state.request_log();
        Ok(())
    }

    fn take_log(&mut self) -> Result<LogPoint> {
        self.state.take_log()
    }
}
