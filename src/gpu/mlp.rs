//! The network on the GPU (`--model mlp`): X, y, the parameters and every activation stay on the
//! device; a step is a forward dispatch per layer (shaders/mlp_forward.wgsl), the output residuals
//! (mlp_output), then per layer from the last its weight gradient (mlp_weight_grad), its input
//! residuals (mlp_input_grad) and its update (mlp_update, the linear models' update rule applied
//! to the tensor). Many steps go in one submission, each dispatch with its parameters at its own
//! dynamic offset; log points copy the loss partial sums and the weights into a ring of staging
//! buffers and are read back later, so nothing waits between log points.
//! CPU twins: src/cpu/mlp.rs.

use super::context::GpuContext;
use super::kernels::layout_entry as entry;
use super::layout::{self, MODEL_LINEAR, MODEL_SOFTMAX};
use super::solver::map_and_read;
use crate::checkpoint::OptimizerState;
use crate::config::{FitConfig, Model};
use crate::cpu::kernels::UpdateRule;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::{Engine, LogPoint, LOG_PIPELINE_DEPTH};
use crate::network::{Activation, Layer};
use crate::objective::Metrics;
use crate::schedule::{Batch, Epoch};
use crate::weights::Weights;
use bytemuck::{Pod, Zeroable};
use std::collections::VecDeque;

/// Rows and units per side of the matrix kernels' tiles (`BLOCK` in shaders/mlp_common.wgsl).
const TILE: u32 = 64;
/// Threads of the one-dimensional kernels (mlp_output, mlp_update, mlp_loss).
const LINE: u32 = 256;
/// Rows per split of the weight gradient (each split writes its own partial gradient).
const ROWS_PER_SPLIT: usize = 256;
/// Rows per split of a narrow weight gradient (its threads walk the rows one by one).
const NARROW_ROWS_PER_SPLIT: usize = 32;
/// Most splits (the partial gradients take `splits` copies of the parameters).
const MAX_SPLITS: usize = 64;
/// Rows per chunk of a log point's evaluation, at least.
const EVAL_ROWS: usize = 4096;
/// Dispatch-parameter slots per submission.
const MAX_SLOTS: usize = 2048;
/// Most workgroups per dispatch dimension.
const MAX_GROUPS: usize = 65_535;
const LOG_RING: usize = LOG_PIPELINE_DEPTH + 1;

pub const MLP_FIRST: u32 = 1;
pub const MLP_IDENTITY: u32 = 2;
pub const MLP_ACTIVATE: u32 = 4;
pub const MLP_TANH: u32 = 8;
pub const MLP_WEIGHTED: u32 = 16;
pub const MLP_PROX: u32 = 32;
pub const MLP_MOMENTUM: u32 = 64;
pub const MLP_INTERCEPT: u32 = 128;
/// How a matrix kernel lays its product over workgroups (shaders/mlp_common.wgsl).
pub const TILE_WIDE: u32 = 0;
pub const TILE_NARROW_N: u32 = 1;
pub const TILE_NARROW_M: u32 = 2;

/// The tile mode and the workgroups (x over n, y over m) of an M × N product.
fn product_grid(m: usize, n: usize) -> (u32, u32, u32) {
    if n <= 4 {
        (TILE_NARROW_N, 1, groups(m, 1024))
    } else if m <= 4 {
        (TILE_NARROW_M, groups(n, 1024), 1)
    } else {
        (TILE_WIDE, groups(n, TILE), groups(m, TILE))
    }
}

/// One dispatch's parameters. Keep in sync with `struct MlpParams` in shaders/mlp_common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MlpParams {
    pub rows: u32,
    pub batch_start: u32,
    pub inputs: u32,
    pub outputs: u32,
    pub w_offset: u32,
    pub n_params: u32,
    pub in_offset: u32,
    pub out_offset: u32,
    pub delta_offset: u32,
    pub flags: u32,
    pub model: u32,
    pub splits: u32,
    pub rows_per_split: u32,
    pub partial_offset: u32,
    pub n_features: u32,
    pub tile_mode: u32,
    pub lr: f32,
    pub momentum: f32,
    pub l1: f32,
    pub l2: f32,
    pub bias_l1: f32,
    pub bias_l2: f32,
    pub inv_batch: f32,
    pub sub_lanes: u32,
}

/// The network's kernels, each in `shaders/<name>.wgsl` with entry point `<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlpKernel {
    Forward,
    Output,
    WeightGrad,
    InputGrad,
    Update,
    Loss,
}

impl MlpKernel {
    pub const ALL: [MlpKernel; 6] = [
        MlpKernel::Forward,
        MlpKernel::Output,
        MlpKernel::WeightGrad,
        MlpKernel::InputGrad,
        MlpKernel::Update,
        MlpKernel::Loss,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MlpKernel::Forward => "mlp_forward",
            MlpKernel::Output => "mlp_output",
            MlpKernel::WeightGrad => "mlp_weight_grad",
            MlpKernel::InputGrad => "mlp_input_grad",
            MlpKernel::Update => "mlp_update",
            MlpKernel::Loss => "mlp_loss",
        }
    }

    fn body(self) -> &'static str {
        match self {
            MlpKernel::Forward => concat!(
                include_str!("../../shaders/mlp_product.wgsl"),
                include_str!("../../shaders/mlp_forward.wgsl")
            ),
            MlpKernel::Output => include_str!("../../shaders/mlp_output.wgsl"),
            MlpKernel::WeightGrad => concat!(
                include_str!("../../shaders/mlp_product.wgsl"),
                include_str!("../../shaders/mlp_weight_grad.wgsl")
            ),
            MlpKernel::InputGrad => concat!(
                include_str!("../../shaders/mlp_product.wgsl"),
                include_str!("../../shaders/mlp_input_grad.wgsl")
            ),
            MlpKernel::Update => concat!(
                include_str!("../../shaders/update_rule.wgsl"),
                include_str!("../../shaders/mlp_update.wgsl")
            ),
            MlpKernel::Loss => include_str!("../../shaders/mlp_loss.wgsl"),
        }
    }

    /// The full WGSL: generated constants, shaders/mlp_common.wgsl, the kernel.
    pub fn source(self) -> String {
        format!(
            "{}const MLP_FIRST: u32 = {MLP_FIRST}u;\nconst MLP_IDENTITY: u32 = {MLP_IDENTITY}u;\n\
             const MLP_ACTIVATE: u32 = {MLP_ACTIVATE}u;\nconst MLP_TANH: u32 = {MLP_TANH}u;\n\
             const MLP_WEIGHTED: u32 = {MLP_WEIGHTED}u;\nconst MLP_PROX: u32 = {MLP_PROX}u;\n\
             const MLP_MOMENTUM: u32 = {MLP_MOMENTUM}u;\n\
             const MLP_INTERCEPT: u32 = {MLP_INTERCEPT}u;\nconst TILE_WIDE: u32 = {TILE_WIDE}u;\n\
             const TILE_NARROW_N: u32 = {TILE_NARROW_N}u;\n\
             const TILE_NARROW_M: u32 = {TILE_NARROW_M}u;\n{}\n{}",
            layout::wgsl_constants(),
            include_str!("../../shaders/mlp_common.wgsl"),
            self.body()
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Which data a dispatch reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    Train,
    Validation,
}

#[derive(Clone, Copy, Debug)]
enum Cmd {
    Dispatch {
        set: Set,
        kernel: MlpKernel,
        slot: u32,
        groups: (u32, u32, u32),
    },
    /// Copies the first `partials` floats of the loss sums and the weights (hi, lo) into ring
    /// slot `ring`.
    Log { ring: usize, partials: u64 },
}

/// A log point queued and not yet read back.
struct PendingLog {
    ring: usize,
    submission: wgpu::SubmissionIndex,
    /// Loss partials of the training rows, then of the validation rows (pairs of floats).
    train_groups: usize,
    val_groups: usize,
}

pub struct GpuMlpEngine<'a> {
    ctx: &'a GpuContext,
    data: &'a Dataset,
    validation: Option<&'a Dataset>,
    model: Model,
    template: Weights,
    layers: Vec<Layer>,
    rules: Vec<UpdateRule>,
    activation: Activation,
    n_params: usize,
    /// Rows the activation buffers hold: a batch, or a chunk of a log point's evaluation.
    cap: usize,
    max_splits: usize,
    act_offsets: Vec<usize>,
    delta_offsets: [usize; 2],
    pipelines: Vec<wgpu::ComputePipeline>,
    slots: wgpu::Buffer,
    slot_stride: usize,
    slot_bytes: Vec<u8>,
    slots_used: usize,
    order: wgpu::Buffer,
    state: wgpu::Buffer,
    partials: wgpu::Buffer,
    partials_len: u64,
    train_bind: wgpu::BindGroup,
    val_bind: Option<wgpu::BindGroup>,
    ring: Vec<wgpu::Buffer>,
    ring_next: usize,
    snapshot_staging: wgpu::Buffer,
    cmds: Vec<Cmd>,
    logs: VecDeque<PendingLog>,
}

fn groups(n: usize, per: u32) -> u32 {
    n.div_ceil(per as usize).max(1) as u32
}

impl<'a> GpuMlpEngine<'a> {
    /// Uploads the data and the initial weights and builds the pipelines. `batch_rows` is the
    /// largest batch the fit takes.
    pub fn new(
        ctx: &'a GpuContext,
        data: &'a Dataset,
        validation: Option<&'a Dataset>,
        cfg: &FitConfig,
        batch_rows: usize,
    ) -> Result<Self> {
        let template = crate::fit::initial_weights(cfg, data);
        let layers = template.layers();
        let n_params = template.values.len();
        let n = data.n_rows();
        let limit = ctx.max_binding_bytes();
        for (what, set) in [("training", Some(data)), ("validation", validation)] {
            let Some(set) = set else { continue };
            let bytes = (set.n_rows() * set.n_features() * 4) as u64;
            if bytes > limit {
                return Err(Error::DeviceMemory {
                    bytes,
                    message: format!(
                        "the GPU network keeps the {what} X ({bytes} bytes) in one binding and \
                         this device allows {limit}; use --device cpu"
                    ),
                });
            }
        }
        let eval_rows = validation.map_or(n, |v| n.max(v.n_rows()));
        let cap = batch_rows.max(EVAL_ROWS.min(eval_rows)).max(1);
        if cap > MAX_GROUPS * TILE as usize {
            return Err(Error::invalid(
                "batch-size",
                batch_rows,
                format!(
                    "the GPU network takes at most {} rows per batch",
                    MAX_GROUPS * TILE as usize
                ),
            ));
        }
        let widest = layers.iter().map(|l| l.outputs).max().unwrap_or(1);
        let act_total: usize = layers.iter().map(|l| l.outputs).sum();
        let mut act_offsets = Vec::with_capacity(layers.len());
        let mut at = 0;
        for l in &layers {
            act_offsets.push(at);
            at += cap * l.outputs;
        }
        let delta_offsets = [cap * act_total, cap * act_total + cap * widest];
        let work_bytes = ((cap * (act_total + 2 * widest)) * 4) as u64;
        if work_bytes > limit {
            return Err(Error::invalid(
                "batch-size",
                batch_rows,
                format!(
                    "the GPU network's activations for {cap} rows take {work_bytes} bytes, more \
                     than one binding of this device ({limit}); lower --batch-size or use \
                     --device cpu"
                ),
            ));
        }
        let param_bytes = (n_params * 4) as u64;
        let max_splits = ((limit / param_bytes.max(1)).saturating_sub(3) as usize).min(MAX_SPLITS);
        if max_splits == 0 {
            return Err(Error::invalid(
                "hidden",
                crate::network::shape_text(&template),
                format!(
                    "the network's {n_params} parameters need 4 copies in one binding of this \
                     device ({limit} bytes); use --device cpu"
                ),
            ));
        }

        // Pipelines over one layout.
        use wgpu::BufferBindingType::{Storage, Uniform};
        let params_size = std::mem::size_of::<MlpParams>() as u64;
        let captured = ctx.capture();
        let layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("mlp bindings"),
                entries: &[
                    entry(0, Uniform, params_size),
                    entry(1, Storage { read_only: true }, 0),
                    entry(2, Storage { read_only: true }, 0),
                    entry(3, Storage { read_only: true }, 0),
                    entry(4, Storage { read_only: true }, 0),
                    entry(5, Storage { read_only: false }, 0),
                    entry(6, Storage { read_only: false }, 0),
                    entry(7, Storage { read_only: false }, 0),
                ],
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("mlp pipeline layout"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let pipelines: Vec<wgpu::ComputePipeline> = MlpKernel::ALL
            .iter()
            .map(|k| {
                super::kernels::build_pipeline(
                    &ctx.device,
                    &pipeline_layout,
                    k.name(),
                    &k.source(),
                    k.name(),
                )
            })
            .collect();
        ctx.release(captured, "building the network's kernels", 0)?;

        use wgpu::BufferUsages as U;
        let upload = |label: &str, bytes: &[u8]| -> Result<wgpu::Buffer> {
            let b = ctx.buffer(label, bytes.len() as u64, U::STORAGE | U::COPY_DST)?;
            super::buffers::upload(ctx, &b, 0, bytes);
            Ok(b)
        };
        let x = upload("mlp x", bytemuck::cast_slice(data.x_slice()))?;
        let y = upload("mlp y", bytemuck::cast_slice(data.y_slice()))?;
        let row_weight = match data.row_weights() {
            Some(w) => upload("mlp row weights", bytemuck::cast_slice(w))?,
            None => upload("mlp row weights (none)", &[0u8; 4])?,
        };
        let order = ctx.buffer("mlp order", (n.max(1) * 4) as u64, U::STORAGE | U::COPY_DST)?;
        let state_floats = (3 + max_splits) * n_params;
        let state = ctx.buffer(
            "mlp state",
            (state_floats * 4) as u64,
            U::STORAGE | U::COPY_DST | U::COPY_SRC,
        )?;
        let mut initial = vec![0.0f32; 3 * n_params];
        for (v, w) in initial.iter_mut().zip(&template.values) {
            *v = *w as f32;
        }
        super::buffers::upload(ctx, &state, 0, bytemuck::cast_slice(&initial));
        let work = ctx.buffer("mlp work", work_bytes, U::STORAGE)?;
        let eval_groups = |rows: usize| rows / LINE as usize + rows.div_ceil(cap) + 1;
        let partials_len =
            2 * (eval_groups(n) + validation.map_or(0, |v| eval_groups(v.n_rows()))) as u64;
        let partials = ctx.buffer(
            "mlp loss partials",
            partials_len * 4,
            U::STORAGE | U::COPY_SRC,
        )?;
        let align = ctx.limits.min_uniform_buffer_offset_alignment as usize;
        let slot_stride = (params_size as usize).next_multiple_of(align.max(16));
        let slots = ctx.buffer(
            "mlp dispatch parameters",
            (MAX_SLOTS * slot_stride) as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let ring_bytes = partials_len * 4 + 2 * param_bytes;
        let ring = (0..LOG_RING)
            .map(|_| ctx.buffer("mlp log point", ring_bytes, U::MAP_READ | U::COPY_DST))
            .collect::<Result<Vec<_>>>()?;
        let snapshot_staging =
            ctx.buffer("mlp snapshot", 3 * param_bytes, U::MAP_READ | U::COPY_DST)?;
        let bind = |label: &str, x: &wgpu::Buffer, y: &wgpu::Buffer| {
            let params = wgpu::BufferBinding {
                buffer: &slots,
                offset: 0,
                size: std::num::NonZeroU64::new(params_size),
            };
            let bound = [x, y, &order, &row_weight, &state, &work, &partials];
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(params),
            }];
            entries.extend(bound.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            }));
            ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout: &layout,
                entries: &entries,
            })
        };
        let captured = ctx.capture();
        let train_bind = bind("mlp training rows", &x, &y);
        let val_bind = match validation {
            Some(v) => {
                let vx = upload("mlp validation x", bytemuck::cast_slice(v.x_slice()))?;
                let vy = upload("mlp validation y", bytemuck::cast_slice(v.y_slice()))?;
                Some(bind("mlp validation rows", &vx, &vy))
            }
            None => None,
        };
        ctx.release(captured, "binding the network's buffers", 0)?;
        Ok(GpuMlpEngine {
            model: cfg.model,
            rules: crate::cpu::mlp::layer_rules(cfg, layers.len()),
            activation: cfg
                .network
                .as_ref()
                .map_or(Activation::Relu, |net| net.activation),
            ctx,
            data,
            validation,
            template,
            layers,
            n_params,
            cap,
            max_splits,
            act_offsets,
            delta_offsets,
            pipelines,
            slots,
            slot_stride,
            slot_bytes: vec![0; MAX_SLOTS * slot_stride],
            slots_used: 0,
            order,
            state,
            partials,
            partials_len,
            train_bind,
            val_bind,
            ring,
            ring_next: 0,
            snapshot_staging,
            cmds: Vec::new(),
            logs: VecDeque::new(),
        })
    }

    fn model_code(&self) -> u32 {
        match self.model {
            Model::Softmax => MODEL_SOFTMAX,
            _ => MODEL_LINEAR,
        }
    }

    /// Parameters every dispatch of layer `l` shares.
    fn layer_params(&self, l: usize) -> MlpParams {
        let layer = self.layers[l];
        MlpParams {
            inputs: layer.inputs as u32,
            outputs: layer.outputs as u32,
            w_offset: layer.offset as u32,
            n_params: self.n_params as u32,
            in_offset: if l == 0 {
                0
            } else {
                self.act_offsets[l - 1] as u32
            },
            n_features: self.data.n_features() as u32,
            model: self.model_code(),
            flags: if l == 0 { MLP_FIRST } else { 0 }
                | if self.activation == Activation::Tanh {
                    MLP_TANH
                } else {
                    0
                },
            ..MlpParams::default()
        }
    }

    fn dispatch(&mut self, set: Set, kernel: MlpKernel, params: MlpParams, g: (u32, u32, u32)) {
        if self.slots_used == MAX_SLOTS {
            self.flush();
        }
        let at = self.slots_used * self.slot_stride;
        self.slot_bytes[at..at + std::mem::size_of::<MlpParams>()]
            .copy_from_slice(bytemuck::bytes_of(&params));
        self.slots_used += 1;
        self.cmds.push(Cmd::Dispatch {
            set,
            kernel,
            slot: at as u32,
            groups: g,
        });
    }

    /// The forward pass over `rows` rows from `start` (of the order, or of the data when
    /// `identity`).
    fn record_forward(&mut self, set: Set, start: usize, rows: usize, identity: bool) {
        let last = self.layers.len() - 1;
        for l in 0..=last {
            let mut params = self.layer_params(l);
            params.rows = rows as u32;
            params.batch_start = start as u32;
            params.out_offset = self.act_offsets[l] as u32;
            if l < last {
                params.flags |= MLP_ACTIVATE;
            }
            if identity {
                params.flags |= MLP_IDENTITY;
            }
            let (mode, gx, gy) = product_grid(rows, self.layers[l].outputs);
            params.tile_mode = mode;
            self.dispatch(set, MlpKernel::Forward, params, (gx, gy, 1));
        }
    }

    fn record_step(&mut self, batch: &Batch, lr: f64) {
        let (start, rows) = (batch.start, batch.rows);
        let weighted = if self.data.row_weights().is_some() {
            MLP_WEIGHTED
        } else {
            0
        };
        self.record_forward(Set::Train, start, rows, false);
        let last = self.layers.len() - 1;
        let mut out = self.layer_params(last);
        out.rows = rows as u32;
        out.batch_start = start as u32;
        out.in_offset = self.act_offsets[last] as u32;
        out.out_offset = self.delta_offsets[0] as u32;
        out.flags = weighted;
        out.inv_batch = (1.0 / rows as f64) as f32;
        self.dispatch(
            Set::Train,
            MlpKernel::Output,
            out,
            (groups(rows, LINE), 1, 1),
        );
        // Wide products: one row split per z workgroup; narrow ones: several per workgroup.
        let wide_splits = rows.div_ceil(ROWS_PER_SPLIT).clamp(1, self.max_splits);
        let narrow_splits = rows
            .div_ceil(NARROW_ROWS_PER_SPLIT)
            .clamp(1, self.max_splits);
        let mut delta = 0;
        for l in (0..=last).rev() {
            let layer = self.layers[l];
            let mut params = self.layer_params(l);
            params.rows = rows as u32;
            params.batch_start = start as u32;
            params.delta_offset = self.delta_offsets[delta] as u32;
            let (mode, gx, gy) = product_grid(layer.outputs, layer.inputs + 1);
            let mut grad = params;
            grad.tile_mode = mode;
            let (splits, gz) = if mode == TILE_WIDE {
                (wide_splits, wide_splits)
            } else {
                // Threads per split: enough for the wide side, 4 values each.
                let wide = if mode == TILE_NARROW_N {
                    layer.outputs
                } else {
                    layer.inputs + 1
                };
                let lanes = wide.div_ceil(4).next_power_of_two().min(LINE as usize);
                grad.sub_lanes = lanes as u32;
                let per_group = LINE as usize / lanes;
                (narrow_splits, narrow_splits.div_ceil(per_group))
            };
            let rows_per_split = rows.div_ceil(splits);
            let splits = rows.div_ceil(rows_per_split).max(1);
            grad.splits = splits as u32;
            grad.rows_per_split = rows_per_split as u32;
            let (gx, gy) = match mode {
                TILE_NARROW_N => (1, groups(layer.outputs, 4 * grad.sub_lanes)),
                TILE_NARROW_M => (groups(layer.inputs + 1, 4 * grad.sub_lanes), 1),
                _ => (gx, gy),
            };
            params.splits = grad.splits;
            self.dispatch(Set::Train, MlpKernel::WeightGrad, grad, (gx, gy, gz as u32));
            if l > 0 {
                let mut back = params;
                back.out_offset = self.delta_offsets[1 - delta] as u32;
                let (mode, gx, gy) = product_grid(rows, layer.inputs);
                back.tile_mode = mode;
                self.dispatch(Set::Train, MlpKernel::InputGrad, back, (gx, gy, 1));
            }
            let rule = self.rules[l];
            let mut update = params;
            update.lr = lr as f32;
            update.momentum = rule.momentum.unwrap_or(0.0) as f32;
            update.l1 = rule.penalty.l1 as f32;
            update.l2 = rule.penalty.l2 as f32;
            update.bias_l1 = rule.penalty.bias_l1 as f32;
            update.bias_l2 = rule.penalty.bias_l2 as f32;
            update.flags = if rule.prox { MLP_PROX } else { 0 }
                | if rule.momentum.is_some() {
                    MLP_MOMENTUM
                } else {
                    0
                }
                | if rule.fit_intercept { MLP_INTERCEPT } else { 0 };
            self.dispatch(
                Set::Train,
                MlpKernel::Update,
                update,
                (groups(layer.len(), LINE), 1, 1),
            );
            delta = 1 - delta;
        }
    }

    /// Writes the recorded parameters and submits the recorded commands.
    fn flush(&mut self) -> Option<wgpu::SubmissionIndex> {
        if self.cmds.is_empty() {
            return None;
        }
        if self.slots_used > 0 {
            self.ctx.queue.write_buffer(
                &self.slots,
                0,
                &self.slot_bytes[..self.slots_used * self.slot_stride],
            );
        }
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mlp steps"),
            });
        let mut i = 0;
        while i < self.cmds.len() {
            if let Cmd::Log { ring, partials } = self.cmds[i] {
                let p_bytes = self.partials_len * 4;
                if partials > 0 {
                    encoder.copy_buffer_to_buffer(
                        &self.partials,
                        0,
                        &self.ring[ring],
                        0,
                        partials * 4,
                    );
                }
                let w_bytes = (2 * self.n_params * 4) as u64;
                encoder.copy_buffer_to_buffer(&self.state, 0, &self.ring[ring], p_bytes, w_bytes);
                i += 1;
                continue;
            }
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("mlp"),
                timestamp_writes: None,
            });
            while let Some(Cmd::Dispatch {
                set,
                kernel,
                slot,
                groups: (gx, gy, gz),
            }) = self.cmds.get(i).copied()
            {
                let bind = match (set, &self.val_bind) {
                    (Set::Validation, Some(v)) => v,
                    _ => &self.train_bind,
                };
                pass.set_bind_group(0, bind, &[slot]);
                pass.set_pipeline(&self.pipelines[kernel.index()]);
                pass.dispatch_workgroups(gx, gy, gz);
                i += 1;
            }
        }
        self.cmds.clear();
        self.slots_used = 0;
        Some(self.ctx.queue.submit([encoder.finish()]))
    }

    /// The loss sums of every row of `set` at the current weights: the forward pass chunk by
    /// chunk, then mlp_loss; returns the workgroups written (pairs of floats from `first`).
    fn record_eval(&mut self, set: Set, rows_total: usize, first: usize) -> usize {
        let last = self.layers.len() - 1;
        let weighted = set == Set::Train && self.data.row_weights().is_some();
        let mut written = 0;
        let mut start = 0;
        while start < rows_total {
            let rows = self.cap.min(rows_total - start);
            self.record_forward(set, start, rows, true);
            let mut params = self.layer_params(last);
            params.rows = rows as u32;
            params.batch_start = start as u32;
            params.in_offset = self.act_offsets[last] as u32;
            params.partial_offset = (first + 2 * written) as u32;
            params.flags = MLP_IDENTITY | if weighted { MLP_WEIGHTED } else { 0 };
            let g = groups(rows, LINE);
            self.dispatch(set, MlpKernel::Loss, params, (g, 1, 1));
            written += g as usize;
            start += rows;
        }
        written
    }

    /// The metrics of `groups` loss partials (pairs) over `rows` rows.
    fn metrics(&self, sums: &[f32], rows: usize) -> Metrics {
        let (mut loss, mut hits) = (0.0f64, 0.0f64);
        for pair in sums.chunks_exact(2) {
            loss += f64::from(pair[0]);
            hits += f64::from(pair[1]);
        }
        let m = rows.max(1) as f64;
        Metrics {
            loss: loss / m,
            accuracy: self.model.is_classifier().then_some(hits / m),
        }
    }

    /// Reads `bytes` of the state (hi, lo, velocity) after every queued step.
    fn read_state(&mut self, floats: usize) -> Result<Vec<f32>> {
        self.flush();
        let bytes = (floats * 4) as u64;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.state, 0, &self.snapshot_staging, 0, bytes);
        let submission = self.ctx.queue.submit([encoder.finish()]);
        map_and_read(self.ctx, &self.snapshot_staging, bytes, submission)
    }
}

impl Engine for GpuMlpEngine<'_> {
    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()> {
        // Steps already recorded read the previous order: submit them first.
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.order, 0, bytemuck::cast_slice(&epoch.order));
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        for (batch, &lr) in batches.iter().zip(lrs) {
            if batch.rows > self.cap {
                return Err(Error::gpu(format!(
                    "internal: a batch of {} rows in buffers for {}",
                    batch.rows, self.cap
                )));
            }
            self.record_step(batch, lr);
        }
        Ok(())
    }

    fn request_log(&mut self) -> Result<()> {
        let ring = self.ring_next;
        self.ring_next = (ring + 1) % LOG_RING;
        let train_groups = self.record_eval(Set::Train, self.data.n_rows(), 0);
        let val_groups = match self.validation {
            Some(v) => self.record_eval(Set::Validation, v.n_rows(), 2 * train_groups),
            None => 0,
        };
        self.cmds.push(Cmd::Log {
            ring,
            partials: (2 * (train_groups + val_groups)) as u64,
        });
        let captured = self.ctx.capture();
        let submission = self.flush();
        self.ctx
            .release(captured, "queueing the network's steps", 0)?;
        let submission = submission.ok_or_else(|| Error::gpu("internal: an empty log point"))?;
        self.logs.push_back(PendingLog {
            ring,
            submission,
            train_groups,
            val_groups,
        });
        Ok(())
    }

    fn take_log(&mut self) -> Result<LogPoint> {
        let log = self
            .logs
            .pop_front()
            .ok_or_else(|| Error::gpu("internal: take_log without request_log"))?;
        let p_floats = self.partials_len as usize;
        let bytes = ((p_floats + 2 * self.n_params) * 4) as u64;
        let values: Vec<f32> = map_and_read(self.ctx, &self.ring[log.ring], bytes, log.submission)?;
        let train_sums = &values[..2 * log.train_groups];
        let val_sums = &values[2 * log.train_groups..2 * (log.train_groups + log.val_groups)];
        let (hi, lo) = values[p_floats..].split_at(self.n_params);
        let weights = self.template.with_values(
            hi.iter()
                .zip(lo)
                .map(|(h, l)| f64::from(*h) + f64::from(*l))
                .collect(),
        );
        Ok(LogPoint {
            weights,
            train: self.metrics(train_sums, self.data.n_rows()),
            validation: self.validation.map(|v| self.metrics(val_sums, v.n_rows())),
        })
    }

    fn finish(&mut self) -> Result<()> {
        self.flush();
        self.ctx.wait_idle()
    }

    fn snapshot(&mut self) -> Result<OptimizerState> {
        let n = self.n_params;
        let state = self.read_state(3 * n)?;
        Ok(OptimizerState::from_hi_lo_velocity(&state, n))
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<()> {
        let values = state.to_hi_lo_velocity(self.n_params, "network")?;
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.state, 0, bytemuck::cast_slice(&values));
        Ok(())
    }
}
