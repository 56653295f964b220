//! The dense network (`--model mlp`): d → h₁ → … → K, each hidden layer followed by ReLU (or
//! tanh), the output a softmax (cross-entropy) or one linear unit (squared loss).
//!
//! Its parameters live in one [`Weights`] whose `values` hold the layers one after another, each
//! an outputs × (inputs + 1) row-major matrix whose row j is [W_j0 .. W_j(in−1), b_j]: the same
//! layout as a linear model's K × (d + 1) matrix, which is a network with no hidden layer. The GPU's
//! parameter buffer has exactly this layout.
//!
//! The objective sums the data term and every layer's penalty:
//!
//! ```text
//! J = (1/m) Σᵢ loss(f(xᵢ), yᵢ) + Σ_l [ l1_l·‖W_l‖₁ + l2_l·‖W_l‖² + bias_l1_l·‖b_l‖₁ + bias_l2_l·‖b_l‖² ]
//! ```
//!
//! where layer l's penalty is the fit's (`--l1 --l2 --bias-l1 --bias-l2`) unless
//! `--layer-penalty l:...` overrides it. Layers are numbered from 1 (the first dense layer).

use crate::config::{Model, Penalty};
use crate::error::{Error, Result};
use crate::weights::Weights;
use ndarray::{s, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// The hidden layers' nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        }
    }

    pub fn apply(self, z: f64) -> f64 {
        match self {
            Activation::Relu => z.max(0.0),
            Activation::Tanh => z.tanh(),
        }
    }

    /// The derivative at the pre-activation z, written as a function of a = act(z) (what the
    /// forward pass keeps): relu′ = [a > 0], tanh′ = 1 − a².
    pub fn derivative_from_output(self, a: f64) -> f64 {
        match self {
            Activation::Relu => f64::from(u8::from(a > 0.0)),
            Activation::Tanh => 1.0 - a * a,
        }
    }
}

/// How the weights start (biases start at 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// N(0, 2/fan_in): the usual choice before ReLU.
    #[default]
    He,
    /// U(±√(6/(fan_in + fan_out))).
    Glorot,
    /// 0.01·N(0, 1), the walkthrough's.
    Small,
}

/// One layer's penalty override (`--layer-penalty LAYER:l1,l2,bias_l1,bias_l2`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerPenalty {
    /// 1 is the first dense layer.
    pub layer: usize,
    pub penalty: Penalty,
}

/// The network of a fit: hidden widths, nonlinearity, initialization and per-layer penalties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub hidden: Vec<usize>,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default)]
    pub init: Init,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_penalties: Vec<LayerPenalty>,
}

/// Hidden widths at most (each hidden layer), and layers at most.
pub const MAX_WIDTH: usize = 1 << 16;
pub const MAX_HIDDEN_LAYERS: usize = 16;

impl NetworkSpec {
    /// The penalty of layer `layer` (from 1): its override, else the fit's.
    pub fn penalty_of(&self, layer: usize, fit: &Penalty) -> Penalty {
        self.layer_penalties
            .iter()
            .rev()
            .find(|p| p.layer == layer)
            .map_or(*fit, |p| p.penalty)
    }

    pub fn validate(&self, model: Model) -> Result<()> {
        if self.hidden.is_empty() {
            return Err(Error::invalid(
                "hidden",
                "none",
                "an mlp needs at least one hidden layer (--hidden 128)",
            ));
        }
        if self.hidden.len() > MAX_HIDDEN_LAYERS {
            return Err(Error::invalid(
                "hidden",
                self.hidden.len(),
                format!("at most {MAX_HIDDEN_LAYERS} hidden layers"),
            ));
        }
        if let Some(&h) = self.hidden.iter().find(|&&h| h == 0 || h > MAX_WIDTH) {
            return Err(Error::invalid(
                "hidden",
                h,
                format!("each hidden width must lie in 1..={MAX_WIDTH}"),
            ));
        }
        if model == Model::Logistic {
            return Err(Error::invalid(
                "model",
                "logistic",
                "an mlp ends in softmax cross-entropy (any number of classes) or a squared loss",
            ));
        }
        let layers = self.hidden.len() + 1;
        for p in &self.layer_penalties {
            if p.layer == 0 || p.layer > layers {
                return Err(Error::invalid(
                    "layer-penalty",
                    p.layer,
                    format!("layers are numbered 1..={layers} for this network"),
                ));
            }
            let q = p.penalty;
            for (name, v) in [
                ("layer-penalty l1", q.l1),
                ("layer-penalty l2", q.l2),
                ("layer-penalty bias_l1", q.bias_l1),
                ("layer-penalty bias_l2", q.bias_l2),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::invalid(name, v, "must be a finite number ≥ 0"));
                }
            }
        }
        Ok(())
    }
}

/// The shape of a network's weights (stored with them): hidden widths and nonlinearity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Net {
    pub hidden: Vec<usize>,
    pub activation: Activation,
}

/// One dense layer's place in the flat parameter vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub inputs: usize,
    pub outputs: usize,
    /// Index of W_00 in `values`.
    pub offset: usize,
}

impl Layer {
    pub fn stride(&self) -> usize {
        self.inputs + 1
    }
    pub fn len(&self) -> usize {
        self.outputs * self.stride()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// The layers of a d → hidden… → K network, in order.
pub fn layers(features: usize, hidden: &[usize], outputs: usize) -> Vec<Layer> {
    let mut sizes = Vec::with_capacity(hidden.len() + 2);
    sizes.push(features);
    sizes.extend_from_slice(hidden);
    sizes.push(outputs);
    let mut offset = 0;
    sizes
        .windows(2)
        .map(|w| {
            let layer = Layer {
                inputs: w[0],
                outputs: w[1],
                offset,
            };
            offset += layer.len();
            layer
        })
        .collect()
}

/// Seeded initial weights (ChaCha8 stream 2⁶³ of `seed`, apart from the batch orders' streams),
/// rounded to f32 so that the GPU and the CPU reference start from the same numbers.
pub fn init(spec: &NetworkSpec, features: usize, outputs: usize, seed: u64) -> Weights {
    let net = Net {
        hidden: spec.hidden.clone(),
        activation: spec.activation,
    };
    let mut w = Weights::zeros_net(net, features, outputs);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1 << 63);
    for layer in w.layers() {
        let (fan_in, fan_out) = (layer.inputs as f64, layer.outputs as f64);
        for j in 0..layer.outputs {
            for i in 0..layer.inputs {
                let v: f64 = match spec.init {
                    Init::He => {
                        let n: f64 = StandardNormal.sample(&mut rng);
                        n * (2.0 / fan_in).sqrt()
                    }
                    Init::Glorot => {
                        let a = (6.0 / (fan_in + fan_out)).sqrt();
                        rng.random_range(-a..a)
                    }
                    Init::Small => {
                        let n: f64 = StandardNormal.sample(&mut rng);
                        0.01 * n
                    }
                };
                w.values[layer.offset + j * layer.stride() + i] = v as f32 as f64;
            }
        }
    }
    w
}

/// Layer `layer`'s W (outputs × inputs) and b as ndarray views of `values`.
fn weight_and_bias<'a>(values: &'a [f64], layer: &Layer) -> (ArrayView2<'a, f64>, Vec<f64>) {
    let m = ArrayView2::from_shape((layer.outputs, layer.stride()), &values[layer.range()])
        .expect("a layer's slice has its shape");
    let w = m.slice_move(s![.., ..layer.inputs]);
    let b = m.column(layer.inputs).to_vec();
    (w, b)
}

/// One dense layer on a block of rows: Z = A Wᵀ + b, then the activation unless `last`.
pub fn dense(
    values: &[f64],
    layer: &Layer,
    input: ArrayView2<f64>,
    activation: Option<Activation>,
) -> Array2<f64> {
    let (w, b) = weight_and_bias(values, layer);
    let mut z = input.dot(&w.t());
    for mut row in z.axis_iter_mut(Axis(0)) {
        for (v, bj) in row.iter_mut().zip(&b) {
            *v += bj;
            if let Some(act) = activation {
                *v = act.apply(*v);
            }
        }
    }
    z
}

/// The activations of every layer for a block of rows (the last is the logits), in f64.
pub fn forward(w: &Weights, x: ArrayView2<f64>) -> Vec<Array2<f64>> {
    let net = w.net.as_ref().expect("forward is called on networks");
    let layers = w.layers();
    let mut acts: Vec<Array2<f64>> = Vec::with_capacity(layers.len());
    for (l, layer) in layers.iter().enumerate() {
        let last = l + 1 == layers.len();
        let activation = (!last).then_some(net.activation);
        let a = match acts.last() {
            Some(prev) => dense(&w.values, layer, prev.view(), activation),
            None => dense(&w.values, layer, x.view(), activation),
        };
        acts.push(a);
    }
    acts
}

/// The logits of a block of f32 rows (rows × K).
pub fn logits(w: &Weights, x: ArrayView2<f32>) -> Array2<f64> {
    let x64 = x.mapv(f64::from);
    forward(w, x64.view()).pop().unwrap_or_default()
}

/// Σ over layers of layer l's penalty on its weights and biases.
pub fn penalty_value(spec: &NetworkSpec, fit: &Penalty, w: &Weights) -> f64 {
    w.layers()
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let p = spec.penalty_of(l + 1, fit);
            let (mut s1, mut s2, mut b1, mut b2) = (0.0, 0.0, 0.0, 0.0);
            for row in w.values[layer.range()].chunks_exact(layer.stride()) {
                for v in &row[..layer.inputs] {
                    s1 += v.abs();
                    s2 += v * v;
                }
                let b = row[layer.inputs];
                b1 += b.abs();
                b2 += b * b;
            }
            p.l1 * s1 + p.l2 * s2 + p.bias_l1 * b1 + p.bias_l2 * b2
        })
        .sum()
}

/// Nonzero weights (biases not counted) and weights in all, per layer.
pub fn nnz_per_layer(w: &Weights) -> Vec<(usize, usize)> {
    w.layers()
        .iter()
        .map(|layer| {
            let nnz = w.values[layer.range()]
                .chunks_exact(layer.stride())
                .map(|row| row[..layer.inputs].iter().filter(|v| **v != 0.0).count())
                .sum();
            (nnz, layer.outputs * layer.inputs)
        })
        .collect()
}

/// "2→128→3" for a network of these widths.
pub fn shape_text(w: &Weights) -> String {
    let mut sizes = vec![w.features];
    sizes.extend(w.layers().iter().map(|l| l.outputs));
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("→")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_tile_the_parameter_vector() {
        let ls = layers(2, &[4, 3], 5);
        assert_eq!(ls.len(), 3);
        assert_eq!(ls[0].range(), 0..12);
        assert_eq!(ls[1].range(), 12..27);
        assert_eq!(ls[2].range(), 27..47);
    }

    #[test]
    fn init_is_seeded_and_scaled() {
        let spec = NetworkSpec {
            hidden: vec![256],
            activation: Activation::Relu,
            init: Init::He,
            layer_penalties: vec![],
        };
        let a = init(&spec, 64, 3, 7);
        assert_eq!(a, init(&spec, 64, 3, 7));
        assert_ne!(a, init(&spec, 64, 3, 8));
        let first = a.layers()[0];
        let w: Vec<f64> = a.values[first.range()]
            .chunks_exact(first.stride())
            .flat_map(|r| r[..first.inputs].to_vec())
            .collect();
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        // He: variance 2/64.
        assert!((var / (2.0 / 64.0) - 1.0).abs() < 0.05, "{var}");
        // Biases start at 0, values are f32 numbers.
        assert!(a
            .values
            .iter()
            .all(|v| (*v as f32) as f64 == *v && v.is_finite()));
        let small = init(
            &NetworkSpec {
                init: Init::Small,
                ..spec.clone()
            },
            64,
            3,
            7,
        );
        assert!(small.values.iter().all(|v| v.abs() < 0.06));
    }

    #[test]
    fn layer_penalty_overrides_one_layer() {
        let spec = NetworkSpec {
            hidden: vec![4],
            activation: Activation::Relu,
            init: Init::He,
            layer_penalties: vec![LayerPenalty {
                layer: 1,
                penalty: Penalty {
                    l2: 5e-4,
                    bias_l2: 5e-4,
                    ..Penalty::default()
                },
            }],
        };
        let fit = Penalty {
            l1: 1.0,
            ..Penalty::default()
        };
        assert_eq!(spec.penalty_of(1, &fit).l2, 5e-4);
        assert_eq!(spec.penalty_of(2, &fit).l1, 1.0);
        assert!(spec.validate(Model::Softmax).is_ok());
        let bad = NetworkSpec {
            layer_penalties: vec![LayerPenalty {
                layer: 3,
                penalty: Penalty::default(),
            }],
            ..spec
        };
        assert!(bad.validate(Model::Softmax).is_err());
    }
}
