//! Sparse X on the GPU: CSR rows uploaded as they are (never densified), in shards that each fit
//! one binding. A step is one `sparse_rows` dispatch per shard its batch touches (each row's
//! logits over its stored entries, its residuals, and r·x added into the gradient by f32
//! atomics or a compare-exchange loop) and one `sparse_update` dispatch over the K × (d + 1)
//! weights. A full-batch gradient (apg, evaluations) can instead take Xᵀr without atomics from a
//! CSC copy built once at upload (`sparse_gather`, one thread per column): [`SparseXt`] picks,
//! measured in BENCHMARKS.md ("Sparse data"). apg's step runs on the device in three dispatches
//! (shaders/sparse_apg.wgsl); log points and certificates read back only their sums.
//! CPU twins: src/objective.rs (weighted_residuals, xt_times, metrics), src/cpu/kernels.rs.

use super::context::GpuContext;
use super::kernels::layout_entry as entry;
use super::layout::{self, FLAG_INTERCEPT, FLAG_MOMENTUM, FLAG_PROX, FLAG_WEIGHTED};
use super::solver::map_and_read;
use crate::apg::ApgEngine;
use crate::block::{BlockEngine, Parts};
use crate::checkpoint::OptimizerState;
use crate::config::{FitConfig, Model};
use crate::cpu::kernels::UpdateRule;
use crate::data::{Csr, Dataset};
use crate::error::{Error, Result};
use crate::fit::{Engine, LogPoint, LOG_PIPELINE_DEPTH};
use crate::gap::DualPoint;
use crate::objective::Metrics;
use crate::schedule::{Batch, Epoch};
use crate::weights::Weights;
use bytemuck::{Pod, Zeroable};
use std::collections::VecDeque;
use std::ops::Range;

/// Threads per workgroup of the sparse kernels.
pub const SPARSE_GROUP: u32 = 256;
/// Most workgroups of one dispatch (the kernels stride over the rest).
const MAX_GROUPS: usize = 4096;
/// Dispatch-parameter slots per submission.
const MAX_SLOTS: usize = 4096;
const LOG_RING: usize = LOG_PIPELINE_DEPTH + 1;
/// Flags beyond layout's FLAG_* (1, 2, 4, 8).
pub const SPARSE_IDENTITY: u32 = 16;
pub const SPARSE_SCATTER: u32 = 32;
pub const SPARSE_DUAL: u32 = 64;
/// Scalars after the five weight blocks of `state`: t, restarts, β, spare, then q (K).
const SCALARS: usize = 4 + layout::MAX_CLASSES;

/// How a full-batch Xᵀr is taken: atomics as a minibatch step, or from the CSC copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseXt {
    Atomic,
    Csc,
}

impl SparseXt {
    /// The default: see BENCHMARKS.md, "Sparse data" (the CSC gather needs no atomics and reads
    /// each column's residuals once; it wins on full batches on both adapters measured).
    pub const DEFAULT: SparseXt = SparseXt::Csc;
}

/// One dispatch's parameters. Keep in sync with `struct SparseParams` in sparse_common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct SparseParams {
    pub rows: u32,
    pub batch_start: u32,
    pub n_features: u32,
    pub n_outputs: u32,
    pub stride: u32,
    pub model: u32,
    pub flags: u32,
    pub w_offset: u32,
    pub resid_base: u32,
    pub part_base: u32,
    pub n_parts: u32,
    pub width: u32,
    pub indptr_at: u32,
    pub indices_at: u32,
    pub order_at: u32,
    pub colptr_at: u32,
    pub colrows_at: u32,
    pub values_at: u32,
    pub y_at: u32,
    pub rw_at: u32,
    pub colvals_at: u32,
    pub row0: u32,
    pub cols: u32,
    pub groups: u32,
    pub lr: f32,
    pub momentum: f32,
    pub l1: f32,
    pub l2: f32,
    pub bias_l1: f32,
    pub bias_l2: f32,
    pub inv_batch: f32,
    pub dual_a: f32,
    pub dual_b: f32,
    pub dual_keep: f32,
    pub apg_at: u32,
    pub scalars_at: u32,
}

/// The sparse kernels, each in `shaders/<file>.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparseKernel {
    Rows,
    Gather,
    Update,
    ApgStep,
    ApgMomentum,
    ApgExtrapolate,
    Loss,
}

impl SparseKernel {
    pub const ALL: [SparseKernel; 7] = [
        SparseKernel::Rows,
        SparseKernel::Gather,
        SparseKernel::Update,
        SparseKernel::ApgStep,
        SparseKernel::ApgMomentum,
        SparseKernel::ApgExtrapolate,
        SparseKernel::Loss,
    ];

    pub fn entry(self) -> &'static str {
        match self {
            SparseKernel::Rows => "sparse_rows",
            SparseKernel::Gather => "sparse_gather",
            SparseKernel::Update => "sparse_update",
            SparseKernel::ApgStep => "sparse_apg_step",
            SparseKernel::ApgMomentum => "sparse_apg_momentum",
            SparseKernel::ApgExtrapolate => "sparse_apg_extrapolate",
            SparseKernel::Loss => "sparse_loss",
        }
    }

    /// The full WGSL; `native_atomics` picks `atomic<f32>` over the compare-exchange loop.
    pub fn source(self, native_atomics: bool) -> String {
        let body = match self {
            SparseKernel::Rows => {
                let grad = if native_atomics {
                    "@group(0) @binding(4) var<storage, read_write> grad: array<atomic<f32>>;\n\
                     fn grad_add(i: u32, v: f32) {\n    atomicAdd(&grad[i], v);\n}\n"
                } else {
                    // f32 addition by compare-exchange on the bits (no float atomics needed).
                    "@group(0) @binding(4) var<storage, read_write> grad: array<atomic<u32>>;\n\
                     fn grad_add(i: u32, v: f32) {\n    var old = atomicLoad(&grad[i]);\n    \
                     loop {\n        let swap = atomicCompareExchangeWeak(&grad[i], old, \
                     bitcast<u32>(bitcast<f32>(old) + v));\n        if (swap.exchanged) {\n            \
                     break;\n        }\n        old = swap.old_value;\n    }\n}\n"
                };
                format!("{grad}{}", include_str!("../../shaders/sparse_rows.wgsl"))
            }
            SparseKernel::Gather => format!(
                "{}{}",
                include_str!("../../shaders/sparse_grad.wgsl"),
                include_str!("../../shaders/sparse_gather.wgsl")
            ),
            SparseKernel::Update => format!(
                "{}{}{}",
                include_str!("../../shaders/sparse_grad.wgsl"),
                include_str!("../../shaders/update_rule.wgsl"),
                include_str!("../../shaders/sparse_update.wgsl")
            ),
            SparseKernel::ApgStep | SparseKernel::ApgMomentum | SparseKernel::ApgExtrapolate => {
                format!(
                    "{}{}",
                    include_str!("../../shaders/sparse_grad.wgsl"),
                    include_str!("../../shaders/sparse_apg.wgsl")
                )
            }
            SparseKernel::Loss => include_str!("../../shaders/sparse_loss.wgsl").into(),
        };
        format!(
            "{}const SPARSE_GROUP: u32 = {SPARSE_GROUP}u;\nconst MAX_K: u32 = {}u;\n\
             const SPARSE_IDENTITY: u32 = {SPARSE_IDENTITY}u;\n\
             const SPARSE_SCATTER: u32 = {SPARSE_SCATTER}u;\n\
             const SPARSE_DUAL: u32 = {SPARSE_DUAL}u;\n{}\n{}\n{}",
            layout::wgsl_constants(),
            layout::MAX_CLASSES,
            include_str!("../../shaders/math.wgsl"),
            include_str!("../../shaders/sparse_common.wgsl"),
            body
        )
    }
}

/// Rows of one CSR matrix on the device: two buffers (u32 and f32 arrays) and their offsets.
struct Shard {
    rows: Range<usize>,
    /// The shard's own buffers (resident), or None when it is streamed through the slots.
    ints: Option<wgpu::Buffer>,
    bind: Option<wgpu::BindGroup>,
    base: SparseParams,
    /// Row-weight offsets in `nums`, one per part (empty: unweighted).
    rw_at: Vec<u32>,
    has_csc: bool,
    cols: usize,
}

/// Splits `csr`'s rows into ranges whose u32 and f32 arrays each fit `limit` bytes.
fn shard_ranges(csr: &Csr, per_row: usize, fixed: usize, limit: u64) -> Result<Vec<Range<usize>>> {
    let ptr = csr.indptr();
    let per_nnz = 2u64; // with the CSC copy, each stored value appears twice in each buffer
    let mut out = Vec::new();
    let mut start = 0;
    let n = csr.nrows();
    while start < n {
        let mut end = start;
        let fits = |end: usize| {
            let nnz = ptr[end] - ptr[start];
            let rows = (end - start) as u64;
            4 * (per_nnz * nnz + per_row as u64 * rows + fixed as u64 + 2) <= limit
        };
        // Doubling then bisection: the longest run of rows that fits.
        let mut step = 1;
        while end + step <= n && fits(end + step) {
            end += step;
            step *= 2;
        }
        while step > 1 {
            step /= 2;
            if end + step <= n && fits(end + step) {
                end += step;
            }
        }
        if end == start {
            return Err(Error::DeviceMemory {
                bytes: 4 * (per_nnz * (ptr[start + 1] - ptr[start]) + fixed as u64),
                message: format!(
                    "row {start} of the sparse data does not fit one binding of this device \
                     ({limit} bytes) with its column copy; use --device cpu"
                ),
            });
        }
        out.push(start..end);
        start = end;
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug)]
enum Set {
    Train(usize),
    Validation(usize),
    /// A dispatch that reads no rows (update, apg): any bind group will do.
    Any,
}

/// A shard's packed u32 and f32 arrays, kept on the host when streamed.
type HostArrays = (Vec<u32>, Vec<f32>);

/// Streamed shards (`--gpu-memory-budget` below the data): each shard's packed arrays on the
/// host, and two device slots that hold one shard each. Batches are drawn within chunks (one
/// shard each, `chunk_rows` rows), so a minibatch step needs one shard; a full pass visits
/// every shard, uploading the next into the other slot.
struct SparseStream {
    host: Vec<HostArrays>,
    slots: Vec<(wgpu::Buffer, wgpu::Buffer, wgpu::BindGroup)>,
    held: [Option<usize>; 2],
    last: usize,
}

/// Rows per streamed chunk: the most rows such that every chunk's packed arrays (u32 and f32
/// each) fit `limit` bytes, or None when X fits `budget` on the device whole.
pub fn plan_stream(
    csr: &Csr,
    options: &super::GpuOptions,
    device_limit: u64,
    weighted: bool,
    batch_rows: usize,
) -> Result<Option<usize>> {
    let Some(budget) = options.memory_budget else {
        return Ok(None);
    };
    let with_csc = options.sparse_xt.unwrap_or(SparseXt::DEFAULT) == SparseXt::Csc;
    let d = csr.ncols() as u64;
    let per_nnz = if with_csc { 2 } else { 1 };
    let fixed = if with_csc { d + 1 } else { 0 };
    let per_row = 3 + u64::from(weighted);
    let bytes = |nnz: u64, rows: u64| 4 * (per_nnz * nnz + per_row * rows + fixed + 2);
    let n = csr.nrows();
    let ptr = csr.indptr();
    if 2 * bytes(csr.nnz() as u64, n as u64) <= budget {
        return Ok(None);
    }
    let limit = (budget / 4).min(device_limit);
    let fits = |r: usize| {
        (0..n.div_ceil(r)).all(|c| {
            let (a, b) = (c * r, ((c + 1) * r).min(n));
            bytes(ptr[b] - ptr[a], (b - a) as u64) <= limit
        })
    };
    if !fits(batch_rows.max(1)) {
        return Err(Error::invalid(
            "gpu-memory-budget",
            budget,
            format!(
                "too small to stream this sparse data: two slots of a {batch_rows}-row batch's \
                 arrays do not fit"
            ),
        ));
    }
    // The largest chunk (a multiple of the batch) whose every window fits.
    let (mut lo, mut hi) = (1usize, n.div_ceil(batch_rows.max(1)));
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid * batch_rows.max(1)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(Some(lo * batch_rows.max(1)))
}

#[derive(Clone, Copy, Debug)]
enum Cmd {
    Dispatch {
        set: Set,
        kernel: SparseKernel,
        slot: u32,
        groups: u32,
    },
    /// Copies `floats` of `work` from `from`, then (with `weights`) hi and lo, into ring `ring`.
    Log {
        ring: usize,
        from: u64,
        floats: u64,
        weights: bool,
    },
}

struct PendingLog {
    ring: usize,
    submission: wgpu::SubmissionIndex,
    train_groups: usize,
    val_groups: usize,
}

fn groups_for(n: usize) -> u32 {
    n.div_ceil(SPARSE_GROUP as usize).clamp(1, MAX_GROUPS) as u32
}

pub struct GpuSparseEngine<'a> {
    ctx: &'a GpuContext,
    data: &'a Dataset,
    val_rows: usize,
    model: Model,
    k_out: usize,
    d: usize,
    width: usize,
    rule: UpdateRule,
    fit_intercept: bool,
    xt: SparseXt,
    pipelines: Vec<wgpu::ComputePipeline>,
    train: Vec<Shard>,
    val: Vec<Shard>,
    /// Streaming: the training shards live on the host and pass through two device slots.
    stream: Option<SparseStream>,
    state: wgpu::Buffer,
    grad: wgpu::Buffer,
    work: wgpu::Buffer,
    /// Offsets (floats) in `work`: bias partials, loss partials (apg's dot partials follow them,
    /// at the `apg_at` every shard's parameters carry).
    bias_at: usize,
    loss_at: usize,
    slots: wgpu::Buffer,
    slot_stride: usize,
    slot_bytes: Vec<u8>,
    slots_used: usize,
    cmds: Vec<Cmd>,
    ring: Vec<wgpu::Buffer>,
    ring_next: usize,
    logs: VecDeque<PendingLog>,
    staging: wgpu::Buffer,
    staging_len: u64,
    /// This epoch's order (row indices) and each entry's position in its shard's order.
    order: Vec<u32>,
    position: Vec<u32>,
    /// The part whose row weights the passes read (block engine), or 0.
    part: usize,
}

impl<'a> GpuSparseEngine<'a> {
    /// Uploads the sparse rows (with `row_weights` per part: the data's own, or a block's parts)
    /// and the initial weights, and builds the pipelines.
    pub fn new(
        ctx: &'a GpuContext,
        data: &'a Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
        parts: Option<&Parts>,
        options: &super::GpuOptions,
    ) -> Result<Self> {
        let xt = options.sparse_xt.unwrap_or(SparseXt::DEFAULT);
        let csr = data
            .x
            .csr()
            .ok_or_else(|| Error::gpu("internal: the sparse engine got dense data"))?;
        let (n, d) = (data.n_rows(), data.n_features());
        let k_out = cfg.model.outputs(data.n_classes());
        if k_out > layout::MAX_CLASSES {
            return Err(Error::TooManyClasses {
                classes: k_out,
                limit: layout::MAX_CLASSES,
            });
        }
        let width = k_out * (d + 1);
        let device_limit = ctx.max_binding_bytes();
        // Shards of X: at most --max-binding-bytes each (the device's own limit by default).
        let limit = options
            .max_binding_bytes
            .map_or(device_limit, |b| b.min(device_limit));
        let state_floats = 5 * width + SCALARS;
        for (what, floats) in [("weights", state_floats), ("gradient", width)] {
            if (floats as u64) * 4 > device_limit || d + 1 > u32::MAX as usize / k_out {
                return Err(Error::DeviceMemory {
                    bytes: floats as u64 * 4,
                    message: format!(
                        "the sparse model's {what} ({k_out} × {} values) do not fit one binding \
                         of this device ({device_limit} bytes); use --device cpu",
                        d + 1
                    ),
                });
            }
        }
        let part_weights: Vec<Option<&[f32]>> = match parts {
            Some(p) => p.data.iter().map(|pd| pd.row_weights()).collect(),
            None => vec![data.row_weights()],
        };
        let weighted = part_weights.iter().any(Option::is_some);
        let n_rw = if weighted { part_weights.len() } else { 0 };
        let with_csc = xt == SparseXt::Csc;
        // Per row: offset, order (ints); y and the weights (nums). Fixed: the CSC column offsets.
        let fixed = if with_csc { d + 1 } else { 0 };
        // Streamed (the driver then draws batches within chunks of cfg.chunk_rows rows, see
        // `plan_stream`): one chunk per shard; else the longest runs of rows that fit a binding.
        let streamed = options.memory_budget.is_some() && cfg.chunk_rows.is_some();
        let ranges = match cfg.chunk_rows.filter(|_| streamed) {
            Some(chunk) => (0..n.div_ceil(chunk))
                .map(|c| c * chunk..((c + 1) * chunk).min(n))
                .collect(),
            None => shard_ranges(csr, 2 + n_rw, fixed, limit)?,
        };
        let val_csr = validation.map(|v| match v.x.csr() {
            Some(c) => c.clone(),
            None => Csr::from_dense(v.x.view()),
        });
        let val_ranges = match &val_csr {
            Some(c) => shard_ranges(c, 2, 0, limit)?,
            None => Vec::new(),
        };
        // Residuals of one pass: a minibatch's rows, or one shard's (a full pass gathers each
        // shard's Xᵀr right after its residuals, indexed within the shard).
        let widest_shard = ranges.iter().map(|r| r.len()).max().unwrap_or(1);
        let resid_len = widest_shard.max(cfg.batch_size.rows(n).min(n)) * k_out;
        let bias_at = resid_len;
        let max_shards = ranges.len().max(1);
        let loss_at = bias_at + max_shards * MAX_GROUPS * k_out;
        let apg_at = loss_at + 2 * MAX_GROUPS * (ranges.len() + val_ranges.len());
        let work_len = apg_at + MAX_GROUPS;
        if work_len as u64 * 4 > device_limit {
            return Err(Error::DeviceMemory {
                bytes: work_len as u64 * 4,
                message: format!(
                    "the residuals of {} rows do not fit one binding of this device \
                     ({device_limit} bytes); lower --batch-size or --max-binding-bytes",
                    resid_len / k_out
                ),
            });
        }

        use wgpu::BufferBindingType::{Storage, Uniform};
        let params_size = std::mem::size_of::<SparseParams>() as u64;
        let native = ctx.float_atomics;
        let captured = ctx.capture();
        let bind_layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("sparse bindings"),
                entries: &[
                    entry(0, Uniform, params_size),
                    entry(1, Storage { read_only: true }, 0),
                    entry(2, Storage { read_only: true }, 0),
                    entry(3, Storage { read_only: false }, 0),
                    entry(4, Storage { read_only: false }, 0),
                    entry(5, Storage { read_only: false }, 0),
                ],
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("sparse pipeline layout"),
                bind_group_layouts: &[Some(&bind_layout)],
                immediate_size: 0,
            });
        let pipelines: Vec<wgpu::ComputePipeline> = SparseKernel::ALL
            .iter()
            .map(|k| {
                super::kernels::build_pipeline(
                    &ctx.device,
                    &pipeline_layout,
                    k.entry(),
                    &k.source(native),
                    k.entry(),
                )
            })
            .collect();
        ctx.release(captured, "building the sparse kernels", 0)?;

        use wgpu::BufferUsages as U;
        let state = ctx.buffer(
            "sparse state",
            (state_floats * 4) as u64,
            U::STORAGE | U::COPY_DST | U::COPY_SRC,
        )?;
        let grad = ctx.buffer(
            "sparse gradient",
            (width * 4) as u64,
            U::STORAGE | U::COPY_DST | U::COPY_SRC,
        )?;
        let work = ctx.buffer(
            "sparse work",
            (work_len * 4) as u64,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        )?;
        let align = ctx.limits.min_uniform_buffer_offset_alignment as usize;
        let slot_stride = (params_size as usize).next_multiple_of(align.max(16));
        let slots = ctx.buffer(
            "sparse dispatch parameters",
            (MAX_SLOTS * slot_stride) as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let ring_floats = 2 * MAX_GROUPS * (ranges.len() + val_ranges.len()) + 2 * width;
        let ring = (0..LOG_RING)
            .map(|_| {
                ctx.buffer(
                    "sparse log point",
                    (ring_floats * 4) as u64,
                    U::MAP_READ | U::COPY_DST,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        // The largest readback: a snapshot (hi, lo, velocity), or the gradient with the sums.
        let staging_len = ((3 * width).max(width + work_len) * 4) as u64;
        let staging = ctx.buffer("sparse readback", staging_len, U::MAP_READ | U::COPY_DST)?;

        let model_code = layout::model_code(cfg.model);
        // Two storage buffers (u32 and f32 arrays) of the given lengths and their bind group.
        let make_buffers = |label: &str,
                            ints_len: usize,
                            nums_len: usize|
         -> Result<(wgpu::Buffer, wgpu::Buffer, wgpu::BindGroup)> {
            let ints_buf = ctx.buffer(
                &format!("{label} indices"),
                (ints_len * 4) as u64,
                U::STORAGE | U::COPY_DST,
            )?;
            let nums_buf = ctx.buffer(
                &format!("{label} values"),
                (nums_len * 4) as u64,
                U::STORAGE | U::COPY_DST,
            )?;
            let captured = ctx.capture();
            let params = wgpu::BufferBinding {
                buffer: &slots,
                offset: 0,
                size: std::num::NonZeroU64::new(params_size),
            };
            let buffers = [&ints_buf, &nums_buf, &state, &grad, &work];
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(params),
            }];
            entries.extend(
                buffers
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry {
                        binding: i as u32 + 1,
                        resource: b.as_entire_binding(),
                    }),
            );
            let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(label),
                layout: &bind_layout,
                entries: &entries,
            });
            ctx.release(captured, "binding the sparse rows", 0)?;
            Ok((ints_buf, nums_buf, bind))
        };
        let make_shard = |label: &str,
                          csr: &Csr,
                          y: &[f32],
                          weights: &[Option<&[f32]>],
                          range: Range<usize>,
                          csc: bool,
                          streamed: bool|
         -> Result<(Shard, Option<HostArrays>)> {
            let part = csr.select(&range.clone().collect::<Vec<_>>());
            let rows = range.len();
            let nnz = part.nnz();
            let mut ints: Vec<u32> = Vec::with_capacity(2 * rows + 2 + nnz * 2 + d + 1);
            let indptr_at = 0;
            ints.extend(part.indptr().iter().map(|&v| v as u32));
            let indices_at = ints.len();
            ints.extend_from_slice(part.indices());
            let order_at = ints.len();
            ints.extend(0..rows as u32);
            let mut nums: Vec<f32> = Vec::with_capacity(nnz * 2 + rows * (1 + weights.len()));
            let values_at = 0;
            nums.extend_from_slice(part.values());
            let y_at = nums.len();
            nums.extend_from_slice(&y[range.clone()]);
            let mut rw_at = Vec::new();
            if weights.iter().any(Option::is_some) {
                for w in weights {
                    rw_at.push(nums.len() as u32);
                    match w {
                        Some(w) => nums.extend_from_slice(&w[range.clone()]),
                        None => nums.extend(std::iter::repeat_n(1.0f32, rows)),
                    }
                }
            }
            let (mut colptr_at, mut colrows_at, mut colvals_at) = (0, 0, 0);
            if csc {
                let c = part.to_csc();
                colptr_at = ints.len();
                ints.extend(c.colptr.iter().map(|&v| v as u32));
                colrows_at = ints.len();
                ints.extend_from_slice(&c.row_indices);
                colvals_at = nums.len();
                nums.extend_from_slice(&c.values);
            }
            let (ints_buf, bind, host) = if streamed {
                (None, None, Some((ints, nums)))
            } else {
                let (i, n, b) = make_buffers(label, ints.len(), nums.len())?;
                super::buffers::upload(ctx, &i, 0, bytemuck::cast_slice(&ints));
                super::buffers::upload(ctx, &n, 0, bytemuck::cast_slice(&nums));
                (Some(i), Some(b), None)
            };
            let shard = Shard {
                rows: range.clone(),
                ints: ints_buf,
                bind,
                base: SparseParams {
                    n_features: d as u32,
                    n_outputs: k_out as u32,
                    stride: (d + 1) as u32,
                    model: model_code,
                    width: width as u32,
                    indptr_at: indptr_at as u32,
                    indices_at: indices_at as u32,
                    order_at: order_at as u32,
                    colptr_at: colptr_at as u32,
                    colrows_at: colrows_at as u32,
                    values_at,
                    y_at: y_at as u32,
                    colvals_at: colvals_at as u32,
                    row0: range.start as u32,
                    cols: d as u32,
                    apg_at: apg_at as u32,
                    scalars_at: (5 * width) as u32,
                    ..SparseParams::default()
                },
                rw_at,
                has_csc: csc,
                cols: d,
            };
            Ok((shard, host))
        };
        let built = ranges
            .iter()
            .enumerate()
            .map(|(s, r)| {
                make_shard(
                    &format!("sparse shard {s}"),
                    csr,
                    data.y_slice(),
                    &part_weights,
                    r.clone(),
                    with_csc,
                    streamed,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let (train, host): (Vec<Shard>, Vec<_>) = built.into_iter().unzip();
        let stream = if streamed {
            let host: Vec<HostArrays> = host.into_iter().flatten().collect();
            let ints_len = host.iter().map(|h| h.0.len()).max().unwrap_or(1);
            let nums_len = host.iter().map(|h| h.1.len()).max().unwrap_or(1);
            let slots = (0..2)
                .map(|k| make_buffers(&format!("sparse stream slot {k}"), ints_len, nums_len))
                .collect::<Result<Vec<_>>>()?;
            Some(SparseStream {
                host,
                slots,
                held: [None, None],
                last: 1,
            })
        } else {
            None
        };
        let val = match (&val_csr, validation) {
            (Some(c), Some(v)) => val_ranges
                .iter()
                .enumerate()
                .map(|(s, r)| {
                    make_shard(
                        &format!("sparse validation shard {s}"),
                        c,
                        v.y_slice(),
                        &[],
                        r.clone(),
                        false,
                        false,
                    )
                    .map(|(shard, _)| shard)
                })
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let mut engine = GpuSparseEngine {
            ctx,
            data,
            val_rows: validation.map_or(0, Dataset::n_rows),
            model: cfg.model,
            k_out,
            d,
            width,
            rule: UpdateRule::new(cfg, cfg.penalty),
            fit_intercept: cfg.fit_intercept,
            xt,
            pipelines,
            train,
            val,
            stream,
            state,
            grad,
            work,
            bias_at,
            loss_at,
            slots,
            slot_stride,
            slot_bytes: vec![0; MAX_SLOTS * slot_stride],
            slots_used: 0,
            cmds: Vec::new(),
            ring,
            ring_next: 0,
            logs: VecDeque::new(),
            staging,
            staging_len,
            order: Vec::new(),
            position: Vec::new(),
            part: 0,
        };
        let initial = crate::fit::initial_weights(cfg, data);
        engine.write_weights(&initial.values, true);
        Ok(engine)
    }

    /// Writes `w` as hi (+ lo), zeroes the velocity, and with `apg` sets x = w, t = 1.
    fn write_weights(&mut self, w: &[f64], apg: bool) {
        self.flush();
        let n = self.width;
        let mut values = vec![0.0f32; 4 * n];
        for (k, &v) in w.iter().enumerate() {
            let hi = v as f32;
            values[k] = hi;
            values[n + k] = (v - f64::from(hi)) as f32;
            values[3 * n + k] = hi;
        }
        let q = &self.ctx.queue;
        q.write_buffer(&self.state, 0, bytemuck::cast_slice(&values));
        if apg {
            q.write_buffer(
                &self.state,
                (5 * n * 4) as u64,
                bytemuck::cast_slice(&[1.0f32]),
            );
        }
        self.ctx.queue.write_buffer(
            &self.grad,
            0,
            bytemuck::cast_slice(&vec![0.0f32; self.width]),
        );
    }

    fn shard(&self, set: Set) -> &Shard {
        match set {
            Set::Train(s) => &self.train[s],
            Set::Validation(s) => &self.val[s],
            Set::Any => &self.train[0],
        }
    }

    /// The bind group a dispatch on `set` uses (a streamed shard: its slot's, loaded by
    /// `ensure` before the dispatch was recorded).
    fn bind_of(&self, set: Set) -> &wgpu::BindGroup {
        if let Some(stream) = &self.stream {
            let slot = match set {
                Set::Train(s) => stream.held.iter().position(|&h| h == Some(s)),
                Set::Any => Some(stream.last),
                Set::Validation(_) => None,
            };
            if let Some(k) = slot {
                return &stream.slots[k].2;
            }
        }
        self.shard(set)
            .bind
            .as_ref()
            .expect("a resident shard has its bind group")
    }

    /// Streaming: puts training shard `s` into a device slot (submitting what is recorded
    /// first: those dispatches read the slot's old contents).
    fn ensure(&mut self, s: usize) {
        let Some(stream) = &self.stream else {
            return;
        };
        if let Some(k) = stream.held.iter().position(|&h| h == Some(s)) {
            self.stream.as_mut().expect("streaming").last = k;
            return;
        }
        self.flush();
        let stream = self.stream.as_mut().expect("streaming");
        let k = 1 - stream.last;
        let (ints, nums) = &stream.host[s];
        let (ib, nb, _) = &stream.slots[k];
        super::buffers::upload(self.ctx, ib, 0, bytemuck::cast_slice(ints));
        super::buffers::upload(self.ctx, nb, 0, bytemuck::cast_slice(nums));
        stream.held[k] = Some(s);
        stream.last = k;
    }

    fn dispatch(&mut self, set: Set, kernel: SparseKernel, mut params: SparseParams, groups: u32) {
        if let Set::Train(s) = set {
            self.ensure(s);
        }
        if self.slots_used == MAX_SLOTS {
            self.flush();
        }
        params.groups = groups;
        let at = self.slots_used * self.slot_stride;
        self.slot_bytes[at..at + std::mem::size_of::<SparseParams>()]
            .copy_from_slice(bytemuck::bytes_of(&params));
        self.slots_used += 1;
        self.cmds.push(Cmd::Dispatch {
            set,
            kernel,
            slot: at as u32,
            groups,
        });
    }

    /// The base parameters of shard `s` with the current part's row weights.
    fn base(&self, set: Set) -> SparseParams {
        let shard = self.shard(set);
        let mut p = shard.base;
        if let Some(&rw) = shard.rw_at.get(self.part) {
            p.rw_at = rw;
            p.flags |= FLAG_WEIGHTED;
        }
        p
    }

    /// Residual passes over a full batch (every training row, in file order) at the weights at
    /// `w_offset` (model `model_code`), with Xᵀr into `grad` (gather or atomics per `self.xt`).
    /// Returns the bias partial slots written.
    fn record_full_gradient(&mut self, w_offset: usize, model_code: u32, k_out: usize) -> u32 {
        let mut parts = 0u32;
        let gather = self.xt == SparseXt::Csc && self.train.iter().all(|s| s.has_csc);
        for s in 0..self.train.len() {
            let rows = self.train[s].rows.clone();
            let mut p = self.base(Set::Train(s));
            p.rows = rows.len() as u32;
            p.batch_start = 0;
            p.flags |= SPARSE_IDENTITY | if gather { 0 } else { SPARSE_SCATTER };
            p.w_offset = w_offset as u32;
            p.model = model_code;
            p.n_outputs = k_out as u32;
            p.resid_base = 0;
            p.row0 = 0;
            p.part_base = (self.bias_at + parts as usize * k_out) as u32;
            let g = groups_for(rows.len());
            self.dispatch(Set::Train(s), SparseKernel::Rows, p, g);
            parts += g;
            if gather {
                let mut q = p;
                q.groups = groups_for(self.train[s].cols);
                self.dispatch(Set::Train(s), SparseKernel::Gather, q, q.groups);
            }
        }
        parts
    }

    /// The update dispatch after a step's gradient passes.
    fn record_update(&mut self, parts: u32, rows: usize, lr: f64) {
        let rule = self.rule;
        let mut p = self.base(Set::Train(0));
        p.flags = if rule.prox { FLAG_PROX } else { 0 }
            | if rule.momentum.is_some() {
                FLAG_MOMENTUM
            } else {
                0
            }
            | if rule.fit_intercept {
                FLAG_INTERCEPT
            } else {
                0
            };
        p.part_base = self.bias_at as u32;
        p.n_parts = parts;
        p.lr = lr as f32;
        p.momentum = rule.momentum.unwrap_or(0.0) as f32;
        p.l1 = rule.penalty.l1 as f32;
        p.l2 = rule.penalty.l2 as f32;
        p.bias_l1 = rule.penalty.bias_l1 as f32;
        p.bias_l2 = rule.penalty.bias_l2 as f32;
        p.inv_batch = (1.0 / rows as f64) as f32;
        self.dispatch(Set::Any, SparseKernel::Update, p, groups_for(self.width));
    }

    fn record_step(&mut self, batch: &Batch, lr: f64) -> Result<()> {
        let n = self.data.n_rows();
        let parts = if batch.rows == n && batch.start == 0 {
            self.record_full_gradient(0, layout::model_code(self.model), self.k_out)
        } else {
            // The batch's rows in each shard: contiguous in the shard's order for this epoch.
            let shards = self.train.len();
            let mut first = vec![u32::MAX; shards];
            let mut count = vec![0u32; shards];
            for k in batch.start..batch.start + batch.rows {
                let row = self.order[k] as usize;
                let s = self.shard_of(row);
                first[s] = first[s].min(self.position[k]);
                count[s] += 1;
            }
            let mut parts = 0u32;
            let mut offset = 0u32;
            for s in 0..shards {
                if count[s] == 0 {
                    continue;
                }
                let mut p = self.base(Set::Train(s));
                p.rows = count[s];
                p.batch_start = first[s];
                p.flags |= SPARSE_SCATTER;
                p.resid_base = offset;
                p.part_base = (self.bias_at + parts as usize * self.k_out) as u32;
                let g = groups_for(count[s] as usize);
                self.dispatch(Set::Train(s), SparseKernel::Rows, p, g);
                parts += g;
                offset += count[s];
            }
            parts
        };
        self.record_update(parts, batch.rows, lr);
        Ok(())
    }

    fn shard_of(&self, row: usize) -> usize {
        self.train
            .partition_point(|s| s.rows.end <= row)
            .min(self.train.len() - 1)
    }

    /// Loss passes over every row of `set`'s shards at the weights at `w_offset`, partials from
    /// `self.loss_at + 2·first`; returns the workgroups written.
    fn record_loss(
        &mut self,
        validation: bool,
        first: usize,
        w_offset: usize,
        dual: bool,
    ) -> usize {
        let count = if validation {
            self.val.len()
        } else {
            self.train.len()
        };
        let mut written = 0;
        for s in 0..count {
            let set = if validation {
                Set::Validation(s)
            } else {
                Set::Train(s)
            };
            let rows = self.shard(set).rows.len();
            let mut p = self.base(set);
            p.rows = rows as u32;
            p.w_offset = w_offset as u32;
            p.part_base = (self.loss_at + 2 * (first + written)) as u32;
            if dual {
                p.flags |= SPARSE_DUAL;
            }
            let g = groups_for(rows);
            self.dispatch(set, SparseKernel::Loss, p, g);
            written += g as usize;
        }
        written
    }

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
                label: Some("sparse steps"),
            });
        let mut i = 0;
        while i < self.cmds.len() {
            if let Cmd::Log {
                ring,
                from,
                floats,
                weights,
            } = self.cmds[i]
            {
                if floats > 0 {
                    encoder.copy_buffer_to_buffer(
                        &self.work,
                        from * 4,
                        &self.ring[ring],
                        0,
                        floats * 4,
                    );
                }
                if weights {
                    let ring_floats = self.ring[ring].size() / 4;
                    let w_bytes = (2 * self.width * 4) as u64;
                    encoder.copy_buffer_to_buffer(
                        &self.state,
                        0,
                        &self.ring[ring],
                        ring_floats * 4 - w_bytes,
                        w_bytes,
                    );
                }
                i += 1;
                continue;
            }
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("sparse"),
                timestamp_writes: None,
            });
            while let Some(Cmd::Dispatch {
                set,
                kernel,
                slot,
                groups,
            }) = self.cmds.get(i).copied()
            {
                pass.set_bind_group(0, self.bind_of(set), &[slot]);
                pass.set_pipeline(&self.pipelines[kernel as usize]);
                pass.dispatch_workgroups(groups, 1, 1);
                i += 1;
            }
        }
        self.cmds.clear();
        self.slots_used = 0;
        Some(self.ctx.queue.submit([encoder.finish()]))
    }

    /// Submits what is recorded, copies `regions` ((buffer, offset floats, floats)) into the
    /// staging buffer and reads them back, in order.
    fn read(&mut self, regions: &[(Region, usize, usize)]) -> Result<Vec<f32>> {
        let captured = self.ctx.capture();
        self.flush();
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let mut at = 0u64;
        for &(region, offset, floats) in regions {
            let buffer = match region {
                Region::State => &self.state,
                Region::Grad => &self.grad,
                Region::Work => &self.work,
            };
            let bytes = (floats * 4) as u64;
            if at + bytes > self.staging_len {
                return Err(Error::gpu(
                    "internal: sparse readback larger than its buffer",
                ));
            }
            if bytes > 0 {
                encoder.copy_buffer_to_buffer(
                    buffer,
                    (offset * 4) as u64,
                    &self.staging,
                    at,
                    bytes,
                );
            }
            at += bytes;
        }
        let submission = self.ctx.queue.submit([encoder.finish()]);
        let out = map_and_read(self.ctx, &self.staging, at.max(4), submission)?;
        self.ctx
            .release(captured, "reading back the sparse model", 0)?;
        Ok(out)
    }

    fn clear_grad(&mut self) {
        self.flush();
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        encoder.clear_buffer(&self.grad, 0, None);
        self.ctx.queue.submit([encoder.finish()]);
    }

    /// Σ of `parts` bias partial slots (K each) per output.
    fn bias_sums(values: &[f32], parts: usize, k_out: usize) -> Vec<f64> {
        let mut out = vec![0.0; k_out];
        for q in 0..parts {
            for (o, s) in out.iter_mut().enumerate() {
                *s += f64::from(values[q * k_out + o]);
            }
        }
        out
    }

    /// The data loss and gradient at the weights at `w_offset` (the whole data, f64 sums of the
    /// device's partials), read back.
    fn loss_and_gradient(&mut self, w_offset: usize) -> Result<(f64, Vec<f64>)> {
        let groups = self.record_loss(false, 0, w_offset, false);
        let parts = self.record_full_gradient(w_offset, layout::model_code(self.model), self.k_out)
            as usize;
        let values = self.read(&[
            (Region::Grad, 0, self.width),
            (Region::Work, self.bias_at, parts * self.k_out),
            (Region::Work, self.loss_at, 2 * groups),
        ])?;
        self.clear_grad();
        let m = self.data.n_rows() as f64;
        let (grad, rest) = values.split_at(self.width);
        let (bias, losses) = rest.split_at(parts * self.k_out);
        let bias = Self::bias_sums(bias, parts, self.k_out);
        let stride = self.d + 1;
        let mut g: Vec<f64> = grad.iter().map(|&v| f64::from(v) / m).collect();
        for (o, b) in bias.iter().enumerate() {
            g[o * stride + self.d] = b / m;
        }
        let loss: f64 = losses.chunks_exact(2).map(|p| f64::from(p[0])).sum();
        Ok((loss / m, g))
    }

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

    fn template(&self, values: Vec<f64>) -> Weights {
        Weights::from_values(self.k_out, self.d, values)
    }
}

#[derive(Clone, Copy, Debug)]
enum Region {
    State,
    Grad,
    Work,
}

impl Engine for GpuSparseEngine<'_> {
    fn set_epoch(&mut self, epoch: &Epoch) -> Result<()> {
        self.flush();
        let shards = self.train.len();
        let mut local: Vec<Vec<u32>> = vec![Vec::new(); shards];
        self.position.clear();
        for &r in &epoch.order {
            let s = self.shard_of(r as usize);
            self.position.push(local[s].len() as u32);
            local[s].push(r - self.train[s].rows.start as u32);
        }
        self.order = epoch.order.clone();
        for (s, order) in local.iter().enumerate() {
            let at = self.train[s].base.order_at as usize;
            match (&mut self.stream, &self.train[s].ints) {
                (Some(stream), _) => {
                    stream.host[s].0[at..at + order.len()].copy_from_slice(order);
                    if let Some(k) = stream.held.iter().position(|&h| h == Some(s)) {
                        self.ctx.queue.write_buffer(
                            &stream.slots[k].0,
                            (at * 4) as u64,
                            bytemuck::cast_slice(order),
                        );
                    }
                }
                (None, Some(ints)) => {
                    self.ctx
                        .queue
                        .write_buffer(ints, (at * 4) as u64, bytemuck::cast_slice(order))
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        for (batch, &lr) in batches.iter().zip(lrs) {
            self.record_step(batch, lr)?;
        }
        Ok(())
    }

    fn request_log(&mut self) -> Result<()> {
        let ring = self.ring_next;
        self.ring_next = (ring + 1) % LOG_RING;
        let train_groups = self.record_loss(false, 0, 0, false);
        let val_groups = if self.val.is_empty() {
            0
        } else {
            self.record_loss(true, train_groups, 0, false)
        };
        self.cmds.push(Cmd::Log {
            ring,
            from: self.loss_at as u64,
            floats: (2 * (train_groups + val_groups)) as u64,
            weights: true,
        });
        let captured = self.ctx.capture();
        let submission = self.flush();
        self.ctx.release(captured, "queueing the sparse steps", 0)?;
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
        let bytes = self.ring[log.ring].size();
        let values: Vec<f32> = map_and_read(self.ctx, &self.ring[log.ring], bytes, log.submission)?;
        let train = &values[..2 * log.train_groups];
        let val = &values[2 * log.train_groups..2 * (log.train_groups + log.val_groups)];
        let w_at = values.len() - 2 * self.width;
        let (hi, lo) = values[w_at..].split_at(self.width);
        let weights = self.template(
            hi.iter()
                .zip(lo)
                .map(|(h, l)| f64::from(*h) + f64::from(*l))
                .collect(),
        );
        Ok(LogPoint {
            weights,
            train: self.metrics(train, self.data.n_rows()),
            validation: (!self.val.is_empty()).then(|| self.metrics(val, self.val_rows)),
        })
    }

    fn finish(&mut self) -> Result<()> {
        self.flush();
        self.ctx.wait_idle()
    }

    fn snapshot(&mut self) -> Result<OptimizerState> {
        let n = self.width;
        let state = self.read(&[(Region::State, 0, 3 * n)])?;
        Ok(OptimizerState::from_hi_lo_velocity(&state, n))
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<()> {
        let values = state.to_hi_lo_velocity(self.width, "model")?;
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.state, 0, bytemuck::cast_slice(&values));
        Ok(())
    }
}

impl ApgEngine for GpuSparseEngine<'_> {
    fn is_f32(&self) -> bool {
        true
    }

    fn gram_times(&mut self, v: &[f64]) -> Result<Vec<f64>> {
        // v in the x⁺ block (free outside an apg step), one output; Xᵀ(X v + v_b) read back.
        let stride = self.d + 1;
        let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        self.flush();
        self.ctx.queue.write_buffer(
            &self.state,
            (4 * self.width * 4) as u64,
            bytemuck::cast_slice(&v32),
        );
        let parts = self.record_full_gradient(4 * self.width, layout::MODEL_GRAM, 1) as usize;
        let values = self.read(&[
            (Region::Grad, 0, stride),
            (Region::Work, self.bias_at, parts),
        ])?;
        self.clear_grad();
        let m = self.data.n_rows() as f64;
        let mut out: Vec<f64> = values[..self.d].iter().map(|&g| f64::from(g) / m).collect();
        out.push(Self::bias_sums(&values[stride..], parts, 1)[0] / m);
        Ok(out)
    }

    fn start(&mut self, w: &Weights) -> Result<()> {
        self.write_weights(&w.values, true);
        Ok(())
    }

    fn iterate(&mut self, iterations: usize, step: f64) -> Result<()> {
        let n = self.data.n_rows();
        let penalty = self.rule.penalty;
        for _ in 0..iterations {
            let parts = self.record_full_gradient(0, layout::model_code(self.model), self.k_out);
            let mut p = self.base(Set::Train(0));
            p.flags = if self.fit_intercept {
                FLAG_INTERCEPT
            } else {
                0
            };
            p.part_base = self.bias_at as u32;
            p.n_parts = parts;
            p.lr = step as f32;
            p.l1 = penalty.l1 as f32;
            p.l2 = penalty.l2 as f32;
            p.bias_l1 = penalty.bias_l1 as f32;
            p.bias_l2 = penalty.bias_l2 as f32;
            p.inv_batch = (1.0 / n as f64) as f32;
            let g = groups_for(self.width);
            self.dispatch(Set::Any, SparseKernel::ApgStep, p, g);
            let mut q = p;
            q.n_parts = g;
            self.dispatch(Set::Any, SparseKernel::ApgMomentum, q, 1);
            self.dispatch(Set::Any, SparseKernel::ApgExtrapolate, p, g);
        }
        let captured = self.ctx.capture();
        self.flush();
        self.ctx
            .release(captured, "queueing the sparse apg steps", 0)
    }

    fn restart(&mut self) -> Result<()> {
        let x = self.read(&[(Region::State, 3 * self.width, self.width)])?;
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let restarts = self.read(&[(Region::State, 5 * self.width + 1, 1)])?[0];
        self.write_weights(&x, true);
        self.ctx.queue.write_buffer(
            &self.state,
            ((5 * self.width + 1) * 4) as u64,
            bytemuck::cast_slice(&[restarts]),
        );
        Ok(())
    }

    fn evaluate(&mut self) -> Result<(Weights, f64, Weights)> {
        let x = self.read(&[(Region::State, 3 * self.width, self.width)])?;
        let (loss, grad) = self.loss_and_gradient(3 * self.width)?;
        let x = self.template(x.iter().map(|&v| f64::from(v)).collect());
        Ok((x, loss, self.template(grad)))
    }

    fn dual_loss(&mut self, point: &DualPoint) -> Result<f64> {
        let q: Vec<f32> = point.q.iter().map(|&v| v as f32).collect();
        self.flush();
        self.ctx.queue.write_buffer(
            &self.state,
            ((5 * self.width + 4) * 4) as u64,
            bytemuck::cast_slice(&q),
        );
        self.dual_at(3 * self.width, point)
    }

    fn restarts(&mut self) -> Result<usize> {
        Ok(self.read(&[(Region::State, 5 * self.width + 1, 1)])?[0] as usize)
    }
}

impl GpuSparseEngine<'_> {
    /// E[Σ p′ log p′] at the weights at `w_offset` (q already written).
    fn dual_at(&mut self, w_offset: usize, point: &DualPoint) -> Result<f64> {
        let groups = {
            let count = self.train.len();
            let mut written = 0;
            for s in 0..count {
                let rows = self.train[s].rows.len();
                let mut p = self.base(Set::Train(s));
                p.rows = rows as u32;
                p.w_offset = w_offset as u32;
                p.part_base = (self.loss_at + 2 * written) as u32;
                p.flags |= SPARSE_DUAL;
                p.dual_a = (point.c * (1.0 - point.tau)) as f32;
                p.dual_b = (point.c * point.tau) as f32;
                p.dual_keep = (1.0 - point.c) as f32;
                let g = groups_for(rows);
                self.dispatch(Set::Train(s), SparseKernel::Loss, p, g);
                written += g as usize;
            }
            written
        };
        let values = self.read(&[(Region::Work, self.loss_at, 2 * groups)])?;
        let sum: f64 = values.chunks_exact(2).map(|p| f64::from(p[0])).sum();
        Ok(sum / self.data.n_rows() as f64)
    }

    /// Writes `w` (one model's K × (d + 1)) into the x⁺ block for a block engine's pass.
    fn load_point(&mut self, w: &Weights) {
        let v: Vec<f32> = w.values.iter().map(|&x| x as f32).collect();
        self.flush();
        self.ctx.queue.write_buffer(
            &self.state,
            (4 * self.width * 4) as u64,
            bytemuck::cast_slice(&v),
        );
    }
}

/// The block engine (path, cv) on sparse data: each model's pass in turn, its part's row weights
/// selected per pass (one more f32 per row and part on the device).
pub struct GpuSparseBlock<'a> {
    engine: GpuSparseEngine<'a>,
    device: String,
}

impl<'a> GpuSparseBlock<'a> {
    pub fn new(
        ctx: &'a GpuContext,
        model: Model,
        parts: &'a Parts,
        options: &super::GpuOptions,
    ) -> Result<Self> {
        let data = &parts.data[parts.all()];
        let cfg = FitConfig {
            model,
            ..FitConfig::default()
        };
        Ok(GpuSparseBlock {
            engine: GpuSparseEngine::new(ctx, data, None, &cfg, Some(parts), options)?,
            device: ctx.adapter.label(),
        })
    }
}

impl BlockEngine for GpuSparseBlock<'_> {
    fn device(&self) -> String {
        self.device.clone()
    }

    fn gram_top(&mut self, part: usize, fit_intercept: bool) -> Result<f64> {
        self.engine.part = part;
        let d = self.engine.d;
        let engine = &mut self.engine;
        crate::apg::gram_top(&mut |v| engine.gram_times(v), fit_intercept, d)
    }

    fn gradients(
        &mut self,
        points: &[(usize, &Weights)],
        losses: bool,
    ) -> Result<Vec<(f64, Weights)>> {
        let mut out = Vec::with_capacity(points.len());
        for &(part, w) in points {
            self.engine.part = part;
            self.engine.load_point(w);
            let (loss, g) = self.engine.loss_and_gradient(4 * self.engine.width)?;
            out.push((if losses { loss } else { 0.0 }, self.engine.template(g)));
        }
        Ok(out)
    }

    fn dual_losses(&mut self, points: &[(usize, &Weights, &DualPoint)]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(points.len());
        for &(part, w, point) in points {
            self.engine.part = part;
            self.engine.load_point(w);
            let q: Vec<f32> = point.q.iter().map(|&v| v as f32).collect();
            let at = ((5 * self.engine.width + 4) * 4) as u64;
            self.engine
                .ctx
                .queue
                .write_buffer(&self.engine.state, at, bytemuck::cast_slice(&q));
            out.push(self.engine.dual_at(4 * self.engine.width, point)?);
        }
        Ok(out)
    }

    fn is_f32(&self) -> bool {
        true
    }

    fn preferred_block(&self) -> usize {
        1
    }
}
