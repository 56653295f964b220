//! The GPU solver. Buffers are made once per fit; each step is recorded as one gradient dispatch per
//! shard the batch touches plus one update dispatch, many steps per submission, with their
//! parameters written once per submission. Log points are copied into a ring of staging buffers
//! and read back later, so the queue never waits for the host.

use super::buffers::{self, plan_fit, DataRef, GpuOptions, Residency, Shard, Shared};
use super::context::GpuContext;
use super::kernels::Kernel;
use super::layout::{
    self, FitParams, GradKernel, StepParams, FLAG_INTERCEPT, FLAG_MOMENTUM, FLAG_PROX,
    FLAG_WEIGHTED,
};
use crate::checkpoint::OptimizerState;
use crate::config::{BatchSize, FitConfig, L1Update, Model, Optimizer, SolverKind};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::{
    run_engine, Engine, EngineRun, FitResult, LogPoint, RunControl, Solver, LOG_PIPELINE_DEPTH,
};
use crate::objective::Metrics;
use crate::schedule::{Batch, BatchPlan, Epoch};
use crate::weights::Weights;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

/// Dispatch-parameter slots in one submission (a step takes one per shard it touches).
const MAX_STEP_SLOTS: usize = 1024;
/// Most workgroups of one dispatch (wgpu's limit per dimension).
const MAX_DISPATCH_WORKGROUPS: u32 = 65_535;
/// Staging buffers for log points: one more than the driver keeps in flight.
const LOG_RING: usize = LOG_PIPELINE_DEPTH + 1;
/// Timestamp queries kept per timing window (two per compute pass).
const MAX_TIMESTAMPS: u32 = 4096;

pub struct GpuSolver {
    ctx: Arc<GpuContext>,
    options: GpuOptions,
}

impl GpuSolver {
    /// Opens the best adapter, or the first whose name contains `adapter`.
    pub fn new(adapter: Option<&str>) -> Result<Self> {
        Ok(GpuSolver {
            ctx: Arc::new(GpuContext::new(adapter)?),
            options: GpuOptions::default(),
        })
    }

    /// Shares an open context (tests and benches fit many models on one device).
    pub fn with_context(ctx: Arc<GpuContext>) -> Self {
        GpuSolver {
            ctx,
            options: GpuOptions::default(),
        }
    }

    /// Sets the binding size and memory budget (sharding and streaming).
    pub fn with_options(mut self, options: GpuOptions) -> Self {
        self.options = options;
        self
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// An apg engine over `data` that stays on the device between calls: what a distributed
    /// worker holds for its partition (see [`crate::distributed`]). X is uploaded (or planned
    /// for streaming) once.
    pub fn apg_engine<'a>(
        &'a self,
        data: &'a Dataset,
        cfg: &FitConfig,
    ) -> Result<Box<dyn crate::apg::ApgEngine + Send + 'a>> {
        let cfg = FitConfig {
            solver: SolverKind::Apg,
            batch_size: BatchSize::Full,
            ..cfg.clone()
        };
        cfg.validate(data.n_rows())?;
        if let Some(csr) = data.x.csr() {
            let chunk = super::sparse::plan_stream(
                csr,
                &self.options,
                self.ctx.max_binding_bytes(),
                data.row_weights().is_some(),
                1,
            )?;
            let cfg = FitConfig {
                chunk_rows: chunk,
                ..cfg
            };
            return Ok(Box::new(super::sparse::GpuSparseEngine::new(
                &self.ctx,
                data,
                None,
                &cfg,
                None,
                &self.options,
            )?));
        }
        let (residency, cfg) = plan_fit(&self.ctx, &self.options, data, &cfg)?;
        let mut engine = GpuEngine::new(&self.ctx, data, None, &cfg, residency, &self.options)?;
        engine.set_apg_epoch(&BatchPlan::new(&cfg, data.n_rows()).epoch(0))?;
        Ok(Box::new(engine))
    }

    /// Where the training rows of `data` would live for `cfg`.
    pub fn residency(&self, data: &Dataset, cfg: &FitConfig) -> Result<Residency> {
        plan_fit(&self.ctx, &self.options, data, cfg).map(|(residency, _)| residency)
    }
}

impl Solver for GpuSolver {
    fn device(&self) -> String {
        self.ctx.adapter.label()
    }

    fn block_engine<'a>(
        &'a mut self,
        model: crate::config::Model,
        parts: &'a crate::block::Parts,
    ) -> Result<Box<dyn crate::block::BlockEngine + 'a>> {
        if parts.data[parts.all()].is_sparse() {
            return Ok(Box::new(super::sparse::GpuSparseBlock::new(
                &self.ctx,
                model,
                parts,
                &self.options,
            )?));
        }
        Ok(Box::new(super::block::GpuBlockEngine::new(
            self.ctx.clone(),
            model,
            parts,
        )?))
    }

    fn fit_run(
        &mut self,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
        control: &mut RunControl,
    ) -> Result<FitResult> {
        let setup = Instant::now();
        if cfg.network.is_some() {
            let batch = cfg.batch_size.rows(data.n_rows());
            let mut engine =
                super::mlp::GpuMlpEngine::new(&self.ctx, data, validation, cfg, batch)?;
            return run_engine(
                EngineRun::Sgd(&mut engine),
                data,
                validation,
                cfg,
                self.device(),
                setup.elapsed().as_secs_f64(),
                control,
            );
        }
        if let Some(csr) = data.x.csr() {
            // Streamed when X does not fit --gpu-memory-budget: batches within chunks.
            let n = data.n_rows();
            let batch = if cfg.solver == SolverKind::Apg {
                1
            } else {
                cfg.batch_size.rows(n).min(n)
            };
            let chunk = super::sparse::plan_stream(
                csr,
                &self.options,
                self.ctx.max_binding_bytes(),
                data.row_weights().is_some(),
                batch,
            )?;
            let cfg = &FitConfig {
                chunk_rows: chunk.or(cfg.chunk_rows),
                ..cfg.clone()
            };
            let mut engine = super::sparse::GpuSparseEngine::new(
                &self.ctx,
                data,
                validation,
                cfg,
                None,
                &self.options,
            )?;
            let run = if cfg.solver == SolverKind::Apg {
                EngineRun::Apg(&mut engine)
            } else {
                EngineRun::Sgd(&mut engine)
            };
            return run_engine(
                run,
                data,
                validation,
                cfg,
                self.device(),
                setup.elapsed().as_secs_f64(),
                control,
            );
        }
        let mut options = self.options;
        let needed = data.n_rows() as u64 * buffers::device_row_bytes(data.n_features());
        // apg takes full-batch gradients, whatever the batch setting says.
        let apg_cfg;
        let cfg = if cfg.solver == SolverKind::Apg {
            apg_cfg = FitConfig {
                batch_size: BatchSize::Full,
                ..cfg.clone()
            };
            &apg_cfg
        } else {
            cfg
        };
        loop {
            let (residency, cfg) = plan_fit(&self.ctx, &options, data, cfg)?;
            match GpuEngine::new(&self.ctx, data, validation, &cfg, residency, &options) {
                Ok(mut engine) => {
                    let run = if cfg.solver == SolverKind::Apg {
                        engine.set_apg_epoch(&BatchPlan::new(&cfg, data.n_rows()).epoch(0))?;
                        EngineRun::Apg(&mut engine)
                    } else {
                        EngineRun::Sgd(&mut engine)
                    };
                    return run_engine(
                        run,
                        data,
                        validation,
                        &cfg,
                        self.device(),
                        setup.elapsed().as_secs_f64(),
                        control,
                    );
                }
                // Out of device memory with X resident: stream it within half the budget tried.
                Err(Error::DeviceMemory { .. })
                    if options.memory_budget.is_none_or(|b| b > needed / 64) =>
                {
                    let tried = options.memory_budget.unwrap_or(needed).min(needed);
                    options.memory_budget = Some(tried / 2);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Which data set a command reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    Train,
    Validation,
}

/// A buffer a log point copies from.
#[derive(Clone, Copy, Debug)]
enum Source {
    Weights,
    Velocity,
    Scratch,
}

/// One recorded command of the next submission.
#[derive(Clone, Copy, Debug)]
enum Cmd {
    Grad {
        shard: usize,
        slot: u32,
        workgroups: u32,
    },
    Update {
        shard: usize,
        slot: u32,
        workgroups: u32,
    },
    Loss {
        set: Set,
        shard: usize,
        workgroups: u32,
    },
    Copy {
        from: Source,
        from_offset: u64,
        to: Target,
        to_offset: u64,
        bytes: u64,
    },
    /// A whole minibatch step in one dispatch of one workgroup (step_rows.wgsl).
    Step { shard: usize, slot: u32 },
    /// bench's roofline: a read of the batch's rows only (read_rows.wgsl).
    Read {
        shard: usize,
        slot: u32,
        workgroups: u32,
    },
    /// apg's step (one workgroup), after a full-batch gradient.
    ApgUpdate { shard: usize, slot: u32 },
    /// apg's dual conjugate term over one shard.
    DualLoss { shard: usize, workgroups: u32 },
}

impl Cmd {
    /// The kind of dispatch, for the timing split of `bench`.
    fn kind(&self) -> &'static str {
        match self {
            Cmd::Grad { .. } => "gradient",
            Cmd::Update { .. } => "update",
            Cmd::Step { .. } => "step",
            Cmd::Read { .. } => "read",
            Cmd::Loss { .. } => "loss",
            Cmd::Copy { .. } => "copy",
            Cmd::ApgUpdate { .. } | Cmd::DualLoss { .. } => "apg",
        }
    }
}

/// A buffer a copy writes to.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A log point's staging buffer in the ring.
    Ring(usize),
    Weights,
    Velocity,
    /// apg's readback buffer.
    ApgStaging,
}

/// A batch's rows in one shard: `rows` entries of the shard's order from `start`.
#[derive(Clone, Copy, Debug)]
struct Piece {
    shard: usize,
    start: usize,
    rows: usize,
}

/// The state of streaming: which chunk each of the two slots holds, and for which epoch its row
/// order was written.
struct Stream {
    chunk_rows: usize,
    slot_chunk: [Option<usize>; 2],
    slot_order_epoch: [Option<usize>; 2],
    active: usize,
    /// This epoch's row order (global rows), where each chunk starts in it, and its visit order.
    order: Vec<u32>,
    chunk_start: Vec<usize>,
    chunk_rank: Vec<usize>,
    chunks: Vec<usize>,
    epoch_id: usize,
}

/// A log point queued and not yet read back.
struct PendingRead {
    ring: usize,
    bytes: u64,
    /// (set, loss workgroups) of each loss dispatch, in the order of the payload.
    parts: Vec<(Set, u32)>,
    submission: wgpu::SubmissionIndex,
    mapped: futures_intrusive::channel::shared::OneshotReceiver<Result<(), wgpu::BufferAsyncError>>,
}

/// Timestamp queries around each compute pass (when the adapter supports them).
struct Timer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    used: u32,
    overflow: bool,
    /// One compute pass per dispatch, so each pass's time belongs to one kind of dispatch.
    per_dispatch: bool,
    /// The kind of dispatch of each timed pass ("steps" for a pass of many dispatches).
    kinds: Vec<&'static str>,
}

/// The device-side state of one fit.
pub struct GpuEngine<'a> {
    ctx: &'a GpuContext,
    data: &'a Dataset,
    model: Model,
    outputs: usize,
    features: usize,
    width: usize,
    grad: GradKernel,
    grad_pipeline: wgpu::ComputePipeline,
    /// The single-dispatch step (step_rows) and the most rows it takes, when this fit uses it.
    step_pipeline: Option<(wgpu::ComputePipeline, usize)>,
    /// bench's read-only kernel, once [`GpuEngine::run_reads`] has run.
    read_pipeline: Option<wgpu::ComputePipeline>,
    workgroup_cap: u32,
    policy: layout::KernelPolicy,
    step_stride: usize,
    train: Vec<Shard>,
    stream: Option<Stream>,
    validation: Vec<Shard>,
    shard_rows: usize,
    weights: wgpu::Buffer,
    velocity: wgpu::Buffer,
    scratch: wgpu::Buffer,
    steps: wgpu::Buffer,
    ring: Vec<wgpu::Buffer>,
    ring_next: usize,
    reads: VecDeque<PendingRead>,
    /// Resident shards: this epoch's pieces, batch by batch (`piece_index[b]..piece_index[b+1]`).
    batch_starts: Vec<usize>,
    pieces: Vec<Piece>,
    piece_index: Vec<usize>,
    /// The current step's pieces (reused).
    step_pieces: Vec<Piece>,
    cmds: Vec<Cmd>,
    params: Vec<u8>,
    slots_used: usize,
    timer: Option<Timer>,
    /// apg: readback buffer of its gap checks and power iteration (4 bytes for sgd).
    apg_staging: wgpu::Buffer,
    /// apg: whether `weights` holds x (after a check) rather than y.
    weights_hold_x: bool,
    /// apg: the batches of one full gradient (one, or one per streamed chunk).
    apg_batches: Vec<Batch>,
}

mod apg;

impl<'a> GpuEngine<'a> {
    pub fn new(
        ctx: &'a GpuContext,
        data: &'a Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
        residency: Residency,
        options: &GpuOptions,
    ) -> Result<Self> {
        let (n, d) = (data.n_rows(), data.n_features());
        if d > layout::TILE_FLOATS as usize {
            return Err(Error::TooManyFeatures {
                features: d,
                limit: layout::TILE_FLOATS as usize,
            });
        }
        let k_out = cfg.model.outputs(data.n_classes());
        if k_out > layout::MAX_CLASSES {
            return Err(Error::TooManyClasses {
                classes: k_out,
                limit: layout::MAX_CLASSES,
            });
        }
        let width = k_out * (d + 1);
        let plan = BatchPlan::new(cfg, n);
        let tile_rows = layout::tile_rows(d, k_out);
        let policy = ctx.policy();
        let fits_rows = GradKernel::for_shape(d, k_out, &policy) == GradKernel::Rows;
        let grad = match options.grad_kernel {
            Some(GradKernel::Rows) if !fits_rows => {
                return Err(Error::invalid(
                    "grad-kernel",
                    "rows",
                    format!(
                        "{k_out} × {} weights are wider than this adapter's one-row-per-thread \
                         kernel takes ({})",
                        d + 1,
                        policy.rows_width
                    ),
                ))
            }
            Some(kernel) => kernel,
            None => GradKernel::for_shape(d, k_out, &policy),
        };
        let grad_pipeline = match grad {
            GradKernel::Rows => ctx.shaped(Kernel::GradRows, d, k_out)?,
            GradKernel::Tiles => ctx.kernels.grad_partials.clone(),
        };
        // One dispatch per step when one workgroup can take the whole batch (sgd only: apg's
        // full-batch gradient spans every shard).
        let step_pipeline = if grad == GradKernel::Rows
            && cfg.solver == SolverKind::Sgd
            && !options.two_dispatch_steps
            && plan.batch_rows * width <= policy.fused_step_work
            && policy.loop_workgroups(grad, plan.batch_rows, d, k_out) == 1
        {
            Some((ctx.shaped(Kernel::StepRows, d, k_out)?, plan.batch_rows))
        } else {
            None
        };
        let rows_per_pass = grad.rows_per_pass(tile_rows);
        let binding_rows = (ctx.max_binding_bytes() / (4 * d as u64)).max(1) as usize;
        let (train_ranges, shard_rows, stream) = match residency {
            Residency::Resident { shard_rows } => {
                (buffers::shard_ranges(n, shard_rows), shard_rows, None)
            }
            Residency::Streamed { chunk_rows } => (
                vec![0..0, 0..0],
                chunk_rows,
                Some(Stream {
                    chunk_rows,
                    slot_chunk: [None; 2],
                    slot_order_epoch: [None; 2],
                    active: 0,
                    order: Vec::new(),
                    chunk_start: Vec::new(),
                    chunk_rank: Vec::new(),
                    chunks: Vec::new(),
                    epoch_id: 0,
                }),
            ),
        };
        let val_ranges = validation.map_or(Vec::new(), |v| {
            buffers::shard_ranges(v.n_rows(), binding_rows.min(shard_rows.max(1)))
        });

        // A step touches at most min(shards, batch) shards, one dispatch each.
        // apg streams every chunk into one gradient: its partials all stay until the update.
        let apg = cfg.solver == SolverKind::Apg;
        let max_pieces = if stream.is_some() {
            if apg {
                n.div_ceil(shard_rows)
            } else {
                1
            }
        } else {
            train_ranges.len().min(plan.batch_rows)
        };
        // The partial rows scratch holds per dispatch: enough for the adapter's policy, and on a
        // software adapter for its loop budget over the largest piece (a shard at most).
        let largest_piece = plan.batch_rows.min(shard_rows.max(1));
        let workgroup_cap = layout::grad_workgroup_cap(width, max_pieces)
            .min(policy.max_workgroups)
            .max(policy.loop_workgroups(grad, largest_piece, d, k_out))
            .min(MAX_DISPATCH_WORKGROUPS);
        // Each piece takes at most max(passes, loop workgroups) (see KernelPolicy).
        let max_partials = (plan.batch_rows.div_ceil(rows_per_pass as usize)
            + policy.loop_workgroups(grad, plan.batch_rows, d, k_out) as usize
            + 2 * max_pieces)
            .min(max_pieces * workgroup_cap as usize);
        let loss_parts: Vec<u32> = match &stream {
            Some(_) => (0..n.div_ceil(shard_rows))
                .map(|c| layout::loss_workgroups((n - c * shard_rows).min(shard_rows)))
                .collect(),
            None => train_ranges
                .iter()
                .map(|r| layout::loss_workgroups(r.len()))
                .collect(),
        };
        let val_parts: Vec<u32> = val_ranges
            .iter()
            .map(|r| layout::loss_workgroups(r.len()))
            .collect();
        let max_loss = loss_parts
            .iter()
            .chain(&val_parts)
            .copied()
            .max()
            .unwrap_or(1) as usize;
        let scratch_floats = (max_partials * width).max(2 * max_loss);
        let log_bytes = 4
            * (2 * width
                + loss_parts
                    .iter()
                    .chain(&val_parts)
                    .map(|&lw| 2 * lw as usize)
                    .sum::<usize>()) as u64;
        let align = ctx.limits.min_uniform_buffer_offset_alignment as usize;
        let step_stride = std::mem::size_of::<StepParams>().div_ceil(align) * align;

        let mut flags = 0;
        if cfg.fit_intercept {
            flags |= FLAG_INTERCEPT;
        }
        if cfg.l1_update == L1Update::Prox {
            flags |= FLAG_PROX;
        }
        if cfg.optimizer == Optimizer::Momentum {
            flags |= FLAG_MOMENTUM;
        }
        if data.weights.is_some() {
            flags |= FLAG_WEIGHTED;
        }
        let fit = FitParams {
            n_features: d as u32,
            n_outputs: k_out as u32,
            stride: (d + 1) as u32,
            tile_rows,
            flags,
            model: layout::model_code(cfg.model),
            l1: cfg.penalty.l1 as f32,
            l2: cfg.penalty.l2 as f32,
            bias_l1: cfg.penalty.bias_l1 as f32,
            bias_l2: cfg.penalty.bias_l2 as f32,
            momentum: cfg.momentum as f32,
            ..Default::default()
        };

        let device = &ctx.device;
        let captured = ctx.capture();
        use wgpu::BufferUsages as U;
        let weights = buffers::buffer(
            device,
            "weights",
            (width * 4) as u64,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        // sgd: momentum, then the low parts of the weights (see shaders/update.wgsl); apg: its
        // iterates and state (layout::apg_slots).
        let velocity_floats = if apg {
            layout::apg_slots::len(width, k_out.max(2))
        } else {
            2 * width
        };
        let velocity = buffers::buffer(
            device,
            "velocity",
            (velocity_floats * 4) as u64,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let loss_total: usize = loss_parts.iter().map(|&l| l as usize).sum();
        let apg_staging = buffers::buffer(
            device,
            "apg staging",
            if apg {
                (4 * (max_partials * width + width + 3 * loss_total + 4)) as u64
            } else {
                4
            },
            U::MAP_READ | U::COPY_DST,
        );
        let scratch = buffers::buffer(
            device,
            "scratch",
            (scratch_floats * 4) as u64,
            U::STORAGE | U::COPY_SRC,
        );
        let steps = buffers::buffer(
            device,
            "step params",
            (MAX_STEP_SLOTS * step_stride) as u64,
            U::UNIFORM | U::COPY_DST,
        );
        let ring: Vec<wgpu::Buffer> = (0..LOG_RING)
            .map(|i| {
                buffers::buffer(
                    device,
                    &format!("log staging {i}"),
                    log_bytes,
                    U::MAP_READ | U::COPY_DST,
                )
            })
            .collect();
        let shared = Shared {
            steps: &steps,
            weights: &weights,
            velocity: &velocity,
            scratch: &scratch,
        };
        let mut train = Vec::with_capacity(train_ranges.len());
        for (s, range) in train_ranges.iter().enumerate() {
            let capacity = if stream.is_some() {
                shard_rows
            } else {
                range.len()
            };
            let mut shard = Shard::new(
                ctx,
                &format!("train shard {s}"),
                capacity,
                fit,
                true,
                &shared,
            );
            if stream.is_none() {
                shard.load(ctx, DataRef::of(data), range.clone());
            }
            train.push(shard);
        }
        let mut val_shards = Vec::with_capacity(val_ranges.len());
        if let Some(v) = validation {
            for (s, range) in val_ranges.iter().enumerate() {
                // The validation loss is unweighted.
                let unweighted = FitParams {
                    flags: fit.flags & !FLAG_WEIGHTED,
                    ..fit
                };
                let mut shard = Shard::new(
                    ctx,
                    &format!("validation shard {s}"),
                    range.len(),
                    unweighted,
                    false,
                    &shared,
                );
                shard.load(ctx, DataRef::of(v), range.clone());
                val_shards.push(shard);
            }
        }
        ctx.queue.submit([]);
        ctx.release(
            captured,
            "creating the fit's buffers",
            n as u64 * buffers::device_row_bytes(d),
        )?;
        Ok(GpuEngine {
            ctx,
            data,
            model: cfg.model,
            outputs: k_out,
            features: d,
            width,
            grad,
            grad_pipeline,
            step_pipeline,
            read_pipeline: None,
            workgroup_cap,
            policy,
            step_stride,
            train,
            stream,
            validation: val_shards,
            shard_rows,
            weights,
            velocity,
            scratch,
            steps,
            ring,
            ring_next: 0,
            reads: VecDeque::new(),
            batch_starts: Vec::new(),
            pieces: Vec::new(),
            piece_index: Vec::new(),
            step_pieces: Vec::new(),
            cmds: Vec::new(),
            params: vec![0; MAX_STEP_SLOTS * step_stride],
            slots_used: 0,
            timer: None,
            apg_staging,
            weights_hold_x: false,
            apg_batches: Vec::new(),
        })
    }

    /// The gradient kernel picked for this shape, and whether steps take one dispatch.
    pub fn grad_kernel(&self) -> (GradKernel, bool) {
        (self.grad, self.step_pipeline.is_some())
    }

    /// Number of training shards (resident) or 2 (the stream's chunk slots).
    pub fn train_shards(&self) -> usize {
        self.train.len()
    }

    /// Records timestamps around each compute pass from now on (when the adapter can); read
    /// them with [`GpuEngine::gpu_seconds`]. With `per_dispatch`, every dispatch gets its own
    /// pass (slower, but [`GpuEngine::gpu_seconds_by_kind`] can split the time). Returns whether
    /// timing is on.
    pub fn enable_timer(&mut self, per_dispatch: bool) -> bool {
        if !self.ctx.timestamps {
            return false;
        }
        use wgpu::BufferUsages as U;
        let device = &self.ctx.device;
        let bytes = MAX_TIMESTAMPS as u64 * 8;
        self.timer = Some(Timer {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pass timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: MAX_TIMESTAMPS,
            }),
            resolve: buffers::buffer(device, "timestamps", bytes, U::QUERY_RESOLVE | U::COPY_SRC),
            read: buffers::buffer(device, "timestamps read", bytes, U::MAP_READ | U::COPY_DST),
            used: 0,
            overflow: false,
            per_dispatch,
            kinds: Vec::new(),
        });
        true
    }

    /// Device seconds spent in compute passes since the last call (None without timestamps, or
    /// when more passes ran than the query set holds).
    pub fn gpu_seconds(&mut self) -> Result<Option<f64>> {
        Ok(self
            .gpu_seconds_by_kind()?
            .map(|kinds| kinds.iter().map(|(_, s)| s).sum()))
    }

    /// As [`GpuEngine::gpu_seconds`], split by kind of dispatch ("gradient", "update", "step",
    /// "loss", "read", "apg"; "steps" for passes of many dispatches), in order of first use.
    pub fn gpu_seconds_by_kind(&mut self) -> Result<Option<Vec<(&'static str, f64)>>> {
        self.flush();
        let Some(timer) = self.timer.as_mut() else {
            return Ok(None);
        };
        let used = timer.used;
        let overflow = timer.overflow;
        let kinds = std::mem::take(&mut timer.kinds);
        timer.used = 0;
        timer.overflow = false;
        if used == 0 || overflow {
            return Ok(None);
        }
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.resolve_query_set(&timer.set, 0..used, &timer.resolve, 0);
        encoder.copy_buffer_to_buffer(&timer.resolve, 0, &timer.read, 0, used as u64 * 8);
        let submission = self.ctx.queue.submit([encoder.finish()]);
        let ticks: Vec<u64> = map_and_read(self.ctx, &timer.read, used as u64 * 8, submission)?;
        let tick = self.ctx.timestamp_period as f64 * 1e-9;
        let mut split: Vec<(&'static str, f64)> = Vec::new();
        for (pair, kind) in ticks.chunks_exact(2).zip(kinds) {
            let seconds = pair[1].saturating_sub(pair[0]) as f64 * tick;
            match split.iter_mut().find(|(k, _)| *k == kind) {
                Some(entry) => entry.1 += seconds,
                None => split.push((kind, seconds)),
            }
        }
        Ok(Some(split))
    }

    /// Records one epoch of reads only (read_rows.wgsl), the roofline of `bench`: each batch's
    /// rows in the same shards, order and dispatch shape as its gradient, summed and discarded.
    pub fn run_reads(&mut self, batches: &[Batch]) -> Result<()> {
        let pipeline = self.ctx.shaped(Kernel::ReadRows, self.features, 1)?;
        self.read_pipeline = Some(pipeline);
        let mut pieces = std::mem::take(&mut self.step_pieces);
        for batch in batches {
            self.batch_pieces(batch);
            std::mem::swap(&mut pieces, &mut self.step_pieces);
            // Recorded as the batch's gradient (same parameters), then turned into reads.
            if self.slots_used + pieces.len() > MAX_STEP_SLOTS {
                self.flush();
            }
            let first = self.cmds.len();
            self.record_gradient(&pieces, 0.0, batch.rows);
            for cmd in &mut self.cmds[first..] {
                if let Cmd::Grad {
                    shard,
                    slot,
                    workgroups,
                } = *cmd
                {
                    *cmd = Cmd::Read {
                        shard,
                        slot,
                        workgroups,
                    };
                }
            }
        }
        self.step_pieces = pieces;
        Ok(())
    }

    /// Records the pieces of this epoch's batches in the resident shards and writes each shard's
    /// row order (local rows, batch by batch).
    fn set_resident_epoch(&mut self, epoch: &Epoch) {
        self.batch_starts.clear();
        self.pieces.clear();
        self.piece_index.clear();
        if self.train.len() == 1 {
            self.train[0].load_order(self.ctx, &epoch.order);
            return;
        }
        let shard_rows = self.shard_rows;
        let mut local: Vec<Vec<u32>> = self
            .train
            .iter()
            .map(|s| Vec::with_capacity(s.rows.len()))
            .collect();
        let mut firsts = vec![0usize; local.len()];
        for b in &epoch.batches {
            self.batch_starts.push(b.start);
            self.piece_index.push(self.pieces.len());
            for (f, l) in firsts.iter_mut().zip(&local) {
                *f = l.len();
            }
            for &r in &epoch.order[b.start..b.start + b.rows] {
                let s = r as usize / shard_rows;
                local[s].push(r - (s * shard_rows) as u32);
            }
            for (s, l) in local.iter().enumerate() {
                if l.len() > firsts[s] {
                    self.pieces.push(Piece {
                        shard: s,
                        start: firsts[s],
                        rows: l.len() - firsts[s],
                    });
                }
            }
        }
        self.piece_index.push(self.pieces.len());
        for (shard, order) in self.train.iter().zip(&local) {
            shard.load_order(self.ctx, order);
        }
    }

    /// Puts `chunk` into stream slot `slot`, with this epoch's row order when `with_order`.
    /// Flushes before writing: recorded commands may still read the slot.
    fn load_chunk(&mut self, slot: usize, chunk: usize, with_order: bool) {
        let stream = self.stream.as_ref().expect("streaming");
        let load_rows = stream.slot_chunk[slot] != Some(chunk);
        let load_order =
            with_order && (load_rows || stream.slot_order_epoch[slot] != Some(stream.epoch_id));
        if !load_rows && !load_order {
            return;
        }
        self.flush();
        let stream = self.stream.as_mut().expect("streaming");
        let start = chunk * stream.chunk_rows;
        let rows = start..(start + stream.chunk_rows).min(self.data.n_rows());
        if load_rows {
            self.train[slot].load(self.ctx, DataRef::of(self.data), rows.clone());
            stream.slot_chunk[slot] = Some(chunk);
            stream.slot_order_epoch[slot] = None;
        }
        if load_order {
            let at = stream.chunk_start[chunk];
            let local: Vec<u32> = stream.order[at..at + rows.len()]
                .iter()
                .map(|&r| r - start as u32)
                .collect();
            self.train[slot].load_order(self.ctx, &local);
            stream.slot_order_epoch[slot] = Some(stream.epoch_id);
        }
    }

    /// The slot that holds `chunk` with this epoch's order, loading it if needed; on a switch of
    /// chunk, queues the upload of the epoch's next chunk into the other slot.
    fn stream_slot(&mut self, chunk: usize) -> usize {
        let stream = self.stream.as_ref().expect("streaming");
        let slot = match stream.slot_chunk.iter().position(|&c| c == Some(chunk)) {
            Some(s) => s,
            None => 1 - stream.active,
        };
        let switched = slot != stream.active || stream.slot_chunk[slot] != Some(chunk);
        self.load_chunk(slot, chunk, true);
        let stream = self.stream.as_mut().expect("streaming");
        stream.active = slot;
        if switched {
            let rank = stream.chunk_rank[chunk];
            if let Some(&next) = stream.chunks.get(rank + 1) {
                self.load_chunk(1 - slot, next, true);
            }
        }
        slot
    }

    /// The pieces of one batch: one per shard it touches (one when streaming).
    /// Fills `step_pieces` with the pieces of one batch (reused, so the step loop allocates
    /// nothing).
    fn batch_pieces(&mut self, batch: &Batch) {
        self.step_pieces.clear();
        if let Some(stream) = &self.stream {
            let chunk = stream.order[batch.start] as usize / stream.chunk_rows;
            let start = batch.start - stream.chunk_start[chunk];
            let shard = self.stream_slot(chunk);
            self.step_pieces.push(Piece {
                shard,
                start,
                rows: batch.rows,
            });
        } else if self.train.len() == 1 {
            self.step_pieces.push(Piece {
                shard: 0,
                start: batch.start,
                rows: batch.rows,
            });
        } else if let Ok(b) = self.batch_starts.binary_search(&batch.start) {
            self.step_pieces
                .extend_from_slice(&self.pieces[self.piece_index[b]..self.piece_index[b + 1]]);
        }
    }

    /// Calls `queue(self, shard)` once for every part of the training rows: each resident shard,
    /// or each streamed chunk after loading it into a slot (those already on the device first).
    fn for_each_train_part(&mut self, mut queue: impl FnMut(&mut Self, usize)) {
        let Some(stream) = &self.stream else {
            for shard in 0..self.train.len() {
                queue(self, shard);
            }
            return;
        };
        let n_chunks = self.data.n_rows().div_ceil(stream.chunk_rows);
        let mut chunks: Vec<usize> = (0..n_chunks).collect();
        chunks.sort_by_key(|c| !stream.slot_chunk.contains(&Some(*c)));
        for chunk in chunks {
            let stream = self.stream.as_ref().expect("streaming");
            let slot = match stream.slot_chunk.iter().position(|&c| c == Some(chunk)) {
                Some(s) => s,
                None => {
                    let s = 1 - stream.active;
                    self.load_chunk(s, chunk, false);
                    self.stream.as_mut().expect("streaming").active = s;
                    s
                }
            };
            queue(self, slot);
        }
    }

    /// Records one gradient dispatch per piece of a batch of `batch_rows` rows (learning rate
    /// `lr`), each writing its own rows of partials; returns the last dispatch's parameter slot
    /// and the partial rows written, for the update that follows.
    fn record_gradient(&mut self, pieces: &[Piece], lr: f64, batch_rows: usize) -> (u32, u32) {
        if self.slots_used + pieces.len() > MAX_STEP_SLOTS {
            self.flush();
        }
        let total: u32 = pieces.iter().map(|p| self.grad_workgroups(p.rows)).sum();
        let (mut base, mut slot) = (0, 0);
        for piece in pieces {
            slot = self.record_piece(piece, base, total, lr, batch_rows);
            base += self.grad_workgroups(piece.rows);
        }
        (slot, total)
    }

    /// Workgroups of the gradient dispatch over `rows` rows.
    fn grad_workgroups(&self, rows: usize) -> u32 {
        self.policy.grad_workgroups(
            self.grad,
            rows,
            (self.features, self.outputs),
            self.workgroup_cap,
        )
    }

    /// Records the gradient dispatch of one piece, writing partial rows from `base` of a step
    /// with `total` rows of partials over `batch_rows` rows; returns its parameter slot.
    fn record_piece(
        &mut self,
        piece: &Piece,
        base: u32,
        total: u32,
        lr: f64,
        batch_rows: usize,
    ) -> u32 {
        let workgroups = self.grad_workgroups(piece.rows);
        let slot = self.push_params(StepParams {
            batch_start: piece.start as u32,
            batch_rows: piece.rows as u32,
            num_partials: workgroups,
            partial_base: base,
            total_partials: total,
            lr: lr as f32,
            inv_batch: 1.0 / batch_rows as f32,
            _pad0: 0,
        });
        self.cmds.push(Cmd::Grad {
            shard: piece.shard,
            slot,
            workgroups,
        });
        slot
    }

    fn push_params(&mut self, params: StepParams) -> u32 {
        let at = self.slots_used * self.step_stride;
        self.params[at..at + std::mem::size_of::<StepParams>()]
            .copy_from_slice(bytemuck::bytes_of(&params));
        self.slots_used += 1;
        at as u32
    }

    /// Writes the recorded parameters and submits the recorded commands, compute passes with
    /// timestamps when timing is on.
    fn flush(&mut self) -> Option<wgpu::SubmissionIndex> {
        if self.cmds.is_empty() {
            return None;
        }
        if self.slots_used > 0 {
            self.ctx.queue.write_buffer(
                &self.steps,
                0,
                &self.params[..self.slots_used * self.step_stride],
            );
        }
        let kernels = &self.ctx.kernels;
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let mut i = 0;
        while i < self.cmds.len() {
            if let Cmd::Copy {
                from,
                from_offset,
                to,
                to_offset,
                bytes,
            } = self.cmds[i]
            {
                let source = match from {
                    Source::Weights => &self.weights,
                    Source::Velocity => &self.velocity,
                    Source::Scratch => &self.scratch,
                };
                let target = match to {
                    Target::Ring(r) => &self.ring[r],
                    Target::Weights => &self.weights,
                    Target::Velocity => &self.velocity,
                    Target::ApgStaging => &self.apg_staging,
                };
                encoder.copy_buffer_to_buffer(source, from_offset, target, to_offset, bytes);
                i += 1;
                continue;
            }
            let kind = if self.timer.as_ref().is_some_and(|t| t.per_dispatch) {
                self.cmds[i].kind()
            } else {
                "steps"
            };
            let timestamp_writes = self.timer.as_mut().and_then(|t| {
                if t.used + 2 > MAX_TIMESTAMPS {
                    t.overflow = true;
                    return None;
                }
                t.used += 2;
                t.kinds.push(kind);
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: &t.set,
                    beginning_of_pass_write_index: Some(t.used - 2),
                    end_of_pass_write_index: Some(t.used - 1),
                })
            });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("steps"),
                timestamp_writes,
            });
            let per_dispatch = self.timer.as_ref().is_some_and(|t| t.per_dispatch);
            let first = i;
            while i < self.cmds.len() && !(per_dispatch && i > first) {
                let (group, offset, pipeline, workgroups) = match self.cmds[i] {
                    Cmd::Copy { .. } => break,
                    Cmd::Read {
                        shard,
                        slot,
                        workgroups,
                    } => (
                        &self.train[shard].bind_group,
                        slot,
                        self.read_pipeline.as_ref().unwrap_or(&self.grad_pipeline),
                        workgroups,
                    ),
                    cmd @ (Cmd::Grad {
                        shard,
                        slot,
                        workgroups,
                    }
                    | Cmd::Update {
                        shard,
                        slot,
                        workgroups,
                    }) => {
                        let pipeline = match cmd {
                            Cmd::Grad { .. } => &self.grad_pipeline,
                            _ => &kernels.update,
                        };
                        (&self.train[shard].bind_group, slot, pipeline, workgroups)
                    }
                    // Recorded only when the fit has the single-dispatch pipeline.
                    Cmd::Step { shard, slot } => (
                        &self.train[shard].bind_group,
                        slot,
                        self.step_pipeline
                            .as_ref()
                            .map_or(&self.grad_pipeline, |(p, _)| p),
                        1,
                    ),
                    Cmd::ApgUpdate { shard, slot } => {
                        (&self.train[shard].bind_group, slot, &kernels.apg_update, 1)
                    }
                    Cmd::DualLoss { shard, workgroups } => (
                        &self.train[shard].bind_group,
                        0,
                        &kernels.dual_loss,
                        workgroups,
                    ),
                    Cmd::Loss {
                        set,
                        shard,
                        workgroups,
                    } => {
                        let shards = match set {
                            Set::Train => &self.train,
                            Set::Validation => &self.validation,
                        };
                        (&shards[shard].bind_group, 0, &kernels.data_loss, workgroups)
                    }
                };
                pass.set_bind_group(0, group, &[offset]);
                pass.set_pipeline(pipeline);
                pass.dispatch_workgroups(workgroups, 1, 1);
                i += 1;
            }
        }
        self.cmds.clear();
        self.slots_used = 0;
        Some(self.ctx.queue.submit([encoder.finish()]))
    }

    /// Queues the loss over one shard and the copy of its partial sums into ring slot `ring`.
    fn queue_loss(
        &mut self,
        set: Set,
        shard: usize,
        ring: usize,
        offset: &mut u64,
        parts: &mut Vec<(Set, u32)>,
    ) {
        let shards = match set {
            Set::Train => &self.train,
            Set::Validation => &self.validation,
        };
        let workgroups = shards[shard].loss_workgroups();
        self.cmds.push(Cmd::Loss {
            set,
            shard,
            workgroups,
        });
        let bytes = 2 * workgroups as u64 * 4;
        self.cmds.push(Cmd::Copy {
            from: Source::Scratch,
            from_offset: 0,
            to: Target::Ring(ring),
            to_offset: *offset,
            bytes,
        });
        *offset += bytes;
        parts.push((set, workgroups));
    }
}

/// Maps `bytes` of `buffer` once `submission` has run and returns them as `T`s.
pub(super) fn map_and_read<T: bytemuck::Pod>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
    submission: wgpu::SubmissionIndex,
) -> Result<Vec<T>> {
    let slice = buffer.slice(..bytes);
    let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    wait_for(ctx, submission)?;
    read_mapped(ctx, buffer, bytes, rx)
}

fn wait_for(ctx: &GpuContext, submission: wgpu::SubmissionIndex) -> Result<()> {
    ctx.device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: None,
        })
        .map_err(|e| Error::gpu(format!("waiting for the device failed: {e}")))?;
    Ok(())
}

/// Copies out a buffer whose map was requested (answer on `rx`), then unmaps it.
fn read_mapped<T: bytemuck::Pod>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
    rx: futures_intrusive::channel::shared::OneshotReceiver<Result<(), wgpu::BufferAsyncError>>,
) -> Result<Vec<T>> {
    match pollster::block_on(rx.receive()) {
        Some(Ok(())) => {}
        Some(Err(e)) => return Err(Error::gpu(format!("reading results back failed: {e}"))),
        None => {
            return Err(Error::gpu(
                "reading results back failed: no answer from the device",
            ))
        }
    }
    let values = {
        let view = buffer
            .slice(..bytes)
            .get_mapped_range()
            .map_err(|e| Error::gpu(format!("reading results back failed: {e}")))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    buffer.unmap();
    ctx.check()?;
    Ok(values)
}

impl Engine for GpuEngine<'_> {
    fn finish(&mut self) -> Result<()> {
        self.flush();
        self.ctx.wait_idle()
    }

    fn snapshot(&mut self) -> Result<OptimizerState> {
        self.flush();
        // Weights (high parts), then velocity: momentum, then the low parts.
        let bytes = (3 * self.width * 4) as u64;
        let staging = buffers::buffer(
            &self.ctx.device,
            "checkpoint staging",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let weight_bytes = (self.width * 4) as u64;
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("checkpoint"),
            });
        encoder.copy_buffer_to_buffer(&self.weights, 0, &staging, 0, weight_bytes);
        encoder.copy_buffer_to_buffer(&self.velocity, 0, &staging, weight_bytes, 2 * weight_bytes);
        let submission = self.ctx.queue.submit([encoder.finish()]);
        let values: Vec<f32> = map_and_read(self.ctx, &staging, bytes, submission)?;
        let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        let w = self.width;
        Ok(OptimizerState {
            weights: widen(&values[..w]),
            velocity: widen(&values[w..2 * w]),
            weights_lo: Some(widen(&values[2 * w..])),
        })
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<()> {
        let w = self.width;
        if state.weights.len() != w || state.velocity.len() != w {
            return Err(Error::invalid(
                "checkpoint",
                format!("{} weights", state.weights.len()),
                format!("this fit has {w}"),
            ));
        }
        // A CPU checkpoint's f64 weights become high + low parts.
        let (hi, lo): (Vec<f32>, Vec<f32>) = match &state.weights_lo {
            Some(lo) => (
                state.weights.iter().map(|&x| x as f32).collect(),
                lo.iter().map(|&x| x as f32).collect(),
            ),
            None => state
                .weights
                .iter()
                .map(|&x| {
                    let h = x as f32;
                    (h, (x - h as f64) as f32)
                })
                .unzip(),
        };
        let mut velocity: Vec<f32> = state.velocity.iter().map(|&x| x as f32).collect();
        velocity.extend_from_slice(&lo);
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.weights, 0, bytemuck::cast_slice(&hi));
        self.ctx
            .queue
            .write_buffer(&self.velocity, 0, bytemuck::cast_slice(&velocity));
        self.ctx.check()
    }

    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()> {
        // Recorded steps of the previous epoch read the order buffers being replaced.
        self.flush();
        match self.stream.as_mut() {
            None => self.set_resident_epoch(epoch),
            Some(stream) => {
                stream.order.clear();
                stream.order.extend_from_slice(&epoch.order);
                let n_chunks = epoch.chunks.len();
                stream.chunk_start = vec![0; n_chunks];
                stream.chunk_rank = vec![0; n_chunks];
                let mut at = 0;
                for (rank, &c) in epoch.chunks.iter().enumerate() {
                    stream.chunk_start[c] = at;
                    stream.chunk_rank[c] = rank;
                    at += (self.data.n_rows() - c * stream.chunk_rows).min(stream.chunk_rows);
                }
                stream.chunks = epoch.chunks.clone();
                stream.epoch_id += 1;
            }
        }
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        let update_groups = (self.width as u32).div_ceil(layout::WORKGROUP_SIZE);
        let mut pieces = std::mem::take(&mut self.step_pieces);
        for (batch, &lr) in batches.iter().zip(lrs) {
            self.batch_pieces(batch);
            std::mem::swap(&mut pieces, &mut self.step_pieces);
            let Some(last) = pieces.last().copied() else {
                return Err(Error::gpu(format!(
                    "internal: no rows for the batch at {} of this epoch",
                    batch.start
                )));
            };
            if pieces.len() == 1
                && self
                    .step_pipeline
                    .as_ref()
                    .is_some_and(|(_, most)| last.rows <= *most)
            {
                if self.slots_used + 1 > MAX_STEP_SLOTS {
                    self.flush();
                }
                let slot = self.push_params(StepParams {
                    batch_start: last.start as u32,
                    batch_rows: last.rows as u32,
                    num_partials: 1,
                    partial_base: 0,
                    total_partials: 1,
                    lr: lr as f32,
                    inv_batch: 1.0 / batch.rows as f32,
                    _pad0: 0,
                });
                self.cmds.push(Cmd::Step {
                    shard: last.shard,
                    slot,
                });
                continue;
            }
            let (slot, _) = self.record_gradient(&pieces, lr, batch.rows);
            self.cmds.push(Cmd::Update {
                shard: last.shard,
                slot,
                workgroups: update_groups,
            });
        }
        self.step_pieces = pieces;
        Ok(())
    }

    fn request_log(&mut self) -> Result<()> {
        let ring = self.ring_next % LOG_RING;
        self.ring_next += 1;
        if self.reads.iter().any(|r| r.ring == ring) {
            return Err(Error::gpu(format!(
                "internal: more than {LOG_RING} log points in flight"
            )));
        }
        // Weights hi, then lo (the second half of velocity), then each loss dispatch's partials
        // (scratch is reused, so each is copied right after its dispatch).
        let weight_bytes = (self.width * 4) as u64;
        self.cmds.push(Cmd::Copy {
            from: Source::Weights,
            from_offset: 0,
            to: Target::Ring(ring),
            to_offset: 0,
            bytes: weight_bytes,
        });
        self.cmds.push(Cmd::Copy {
            from: Source::Velocity,
            from_offset: weight_bytes,
            to: Target::Ring(ring),
            to_offset: weight_bytes,
            bytes: weight_bytes,
        });
        let mut offset = 2 * weight_bytes;
        let mut parts = Vec::new();
        self.for_each_train_part(|engine, shard| {
            engine.queue_loss(Set::Train, shard, ring, &mut offset, &mut parts)
        });
        for s in 0..self.validation.len() {
            self.queue_loss(Set::Validation, s, ring, &mut offset, &mut parts);
        }
        let Some(submission) = self.flush() else {
            return Err(Error::gpu("internal: empty log point"));
        };
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        self.ring[ring]
            .slice(..offset)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        self.reads.push_back(PendingRead {
            ring,
            bytes: offset,
            parts,
            submission,
            mapped: rx,
        });
        Ok(())
    }

    fn take_log(&mut self) -> Result<LogPoint> {
        let Some(read) = self.reads.pop_front() else {
            return Err(Error::gpu("internal: no log point was requested"));
        };
        wait_for(self.ctx, read.submission)?;
        let values: Vec<f32> =
            read_mapped(self.ctx, &self.ring[read.ring], read.bytes, read.mapped)?;
        // Each weight is hi + lo (see shaders/update.wgsl).
        let (hi, lo) = values[..2 * self.width].split_at(self.width);
        let weights = Weights::from_values(
            self.outputs,
            self.features,
            hi.iter()
                .zip(lo)
                .map(|(&h, &l)| h as f64 + l as f64)
                .collect(),
        );
        let mut at = 2 * self.width;
        let mut sums = [(0.0f64, 0u64); 2];
        for (set, lw) in read.parts {
            let lw = lw as usize;
            let slot = &mut sums[set as usize];
            slot.0 += values[at..at + lw].iter().map(|&v| v as f64).sum::<f64>();
            slot.1 += values[at + lw..at + 2 * lw]
                .iter()
                .map(|v| v.to_bits() as u64)
                .sum::<u64>();
            at += 2 * lw;
        }
        let metrics = |(loss, correct): (f64, u64), rows: usize| Metrics {
            loss: loss / rows as f64,
            accuracy: self
                .model
                .is_classifier()
                .then(|| correct as f64 / rows as f64),
        };
        let val_rows: usize = self.validation.iter().map(|s| s.rows.len()).sum();
        Ok(LogPoint {
            weights,
            train: metrics(sums[0], self.data.n_rows()),
            validation: (!self.validation.is_empty()).then(|| metrics(sums[1], val_rows)),
        })
    }
}
