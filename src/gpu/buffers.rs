//! Device buffers for the data: where the training rows live (all of X in binding-sized shards, or
//! streamed through two chunk buffers), and the shard: one binding's worth of rows of X with its y,
//! its row order, its own `FitParams` and the bind group that reads them.

use super::context::GpuContext;
use super::layout::{self, binding, FitParams, StepParams};
use crate::config::FitConfig;
use crate::error::{Error, Result};
use std::ops::Range;

/// Bytes each row needs on the device: X (4·d), y (4) and its entry in the row order (4). (A
/// weighted fit adds 4 more per row, which the plan leaves inside its margin.)
pub fn device_row_bytes(d: usize) -> u64 {
    4 * (d as u64 + 2)
}

/// Where the training rows live on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Residency {
    /// All of X on the device, in shards of at most `shard_rows` rows (one binding each).
    Resident { shard_rows: usize },
    /// X streamed from host memory each epoch in chunks of `chunk_rows` rows, through two chunk
    /// buffers (the upload of the next chunk is queued while the device computes on this one).
    Streamed { chunk_rows: usize },
}

/// The memory settings of the GPU solver (the CLI's `--max-binding-bytes`, `--gpu-memory-budget`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuOptions {
    /// Lowers the bytes of X per binding (shard) below the adapter's own limit.
    pub max_binding_bytes: Option<u64>,
    /// Device bytes the training data may take; larger data is streamed from host memory.
    pub memory_budget: Option<u64>,
    /// Forces a gradient kernel (tests and bench compare them); None: the adapter's policy
    /// ([`super::layout::KernelPolicy`]). Rows is refused for shapes wider than the policy allows.
    pub grad_kernel: Option<super::layout::GradKernel>,
    /// Keeps two dispatches per step (gradient, then update) even where one could take it.
    pub two_dispatch_steps: bool,
    /// Sparse data: how a full-batch Xᵀr is taken (None: [`super::SparseXt::DEFAULT`]).
    pub sparse_xt: Option<super::SparseXt>,
}

/// Picks resident shards or streaming for `n` rows of `d` features. `max_binding` is the adapter's
/// limit per binding; `cfg.chunk_rows`, when set, is kept as the chunk size.
pub fn plan_residency(
    max_binding: u64,
    options: &GpuOptions,
    n: usize,
    d: usize,
    cfg: &FitConfig,
) -> Result<Residency> {
    let binding = options
        .max_binding_bytes
        .map_or(max_binding, |b| b.min(max_binding));
    let x_row = 4 * d as u64;
    let shard_rows = (binding / x_row) as usize;
    if shard_rows == 0 {
        return Err(Error::invalid(
            "max-binding-bytes",
            binding,
            format!("smaller than one row of X ({x_row} bytes for {d} features)"),
        ));
    }
    let row_bytes = device_row_bytes(d);
    let needed = n as u64 * row_bytes;
    let Some(budget) = options.memory_budget.filter(|&b| needed > b) else {
        return Ok(Residency::Resident { shard_rows });
    };
    // apg streams every chunk into each full-batch gradient, so any chunk size works.
    let apg = cfg.solver == crate::config::SolverKind::Apg;
    let batch = if apg {
        1
    } else {
        cfg.batch_size.rows(n).min(n)
    };
    if !apg && batch == n {
        return Err(Error::invalid(
            "gpu-memory-budget",
            budget,
            format!(
                "the data needs {needed} bytes on the device and a full-batch step needs all of \
                 it at once; pass --batch-size to stream it in chunks"
            ),
        ));
    }
    let chunk_max = shard_rows.min((budget / (2 * row_bytes)) as usize);
    let chunk_rows = cfg
        .chunk_rows
        .unwrap_or(chunk_max / batch.max(1) * batch)
        .min(chunk_max);
    if chunk_rows < batch {
        return Err(Error::invalid(
            "gpu-memory-budget",
            budget,
            format!(
                "too small to stream: two chunks of one batch ({batch} rows × {d} features) need \
                 {} bytes",
                2 * batch as u64 * row_bytes
            ),
        ));
    }
    Ok(Residency::Streamed { chunk_rows })
}

/// [`plan_residency`] for `data` on `ctx`, and the config the fit then runs: when the data is
/// streamed, batches are drawn within its chunks, so `chunk_rows` is set (the CPU twin needs it
/// to see the same batches).
pub fn plan_fit(
    ctx: &GpuContext,
    options: &GpuOptions,
    data: &crate::data::Dataset,
    cfg: &FitConfig,
) -> Result<(Residency, FitConfig)> {
    let residency = plan_residency(
        ctx.max_binding_bytes(),
        options,
        data.n_rows(),
        data.n_features(),
        cfg,
    )?;
    let mut cfg = cfg.clone();
    if let Residency::Streamed { chunk_rows } = residency {
        cfg.chunk_rows = Some(chunk_rows);
    }
    Ok((residency, cfg))
}

/// The host arrays a shard is loaded from.
#[derive(Clone, Copy)]
pub struct DataRef<'d> {
    pub x: &'d [f32],
    pub y: &'d [f32],
    pub row_weight: Option<&'d [f32]>,
}

impl<'d> DataRef<'d> {
    pub fn of(data: &'d crate::data::Dataset) -> Self {
        DataRef {
            x: data.x_slice(),
            y: data.y_slice(),
            row_weight: data.row_weights(),
        }
    }
}

impl Shard {
    /// Rewrites the shard's `FitParams`, keeping its row count (apg switches the model code for
    /// its power iteration).
    pub fn set_fit(&mut self, ctx: &GpuContext, fit: FitParams) {
        self.fit = FitParams {
            n_rows: self.fit.n_rows,
            loss_workgroups: self.fit.loss_workgroups,
            ..fit
        };
        ctx.queue
            .write_buffer(&self.fit_buf, 0, bytemuck::bytes_of(&self.fit));
    }
}

/// One binding's worth of rows on the device.
pub struct Shard {
    /// Rows of the dataset it holds (for a stream slot: the chunk now in it).
    pub rows: Range<usize>,
    pub x: wgpu::Buffer,
    pub y: wgpu::Buffer,
    pub order: wgpu::Buffer,
    /// Sample weights (mean 1), or a 4-byte placeholder for unweighted data.
    pub row_weight: wgpu::Buffer,
    pub fit_buf: wgpu::Buffer,
    pub fit: FitParams,
    pub bind_group: wgpu::BindGroup,
}

/// The buffers every shard's bind group shares.
pub struct Shared<'b> {
    pub steps: &'b wgpu::Buffer,
    pub weights: &'b wgpu::Buffer,
    pub velocity: &'b wgpu::Buffer,
    pub scratch: &'b wgpu::Buffer,
}

pub fn buffer(
    device: &wgpu::Device,
    label: &str,
    bytes: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4).next_multiple_of(4),
        usage,
        mapped_at_creation: false,
    })
}

/// Bytes staged per write before the queue is flushed, so uploading a large X never stages all of
/// it in host-visible memory at once.
const UPLOAD_PIECE: usize = 64 << 20;

/// Writes `bytes` at `offset` of `target` in pieces.
pub fn upload(ctx: &GpuContext, target: &wgpu::Buffer, offset: u64, bytes: &[u8]) {
    let pieces = bytes.len().div_ceil(UPLOAD_PIECE);
    for (i, piece) in bytes.chunks(UPLOAD_PIECE).enumerate() {
        ctx.queue
            .write_buffer(target, offset + (i * UPLOAD_PIECE) as u64, piece);
        if pieces > 1 {
            ctx.queue.submit([]);
        }
    }
}

impl Shard {
    /// Makes the buffers for up to `capacity` rows of `d` features. `with_order`: a row-order
    /// buffer of `capacity` entries (training shards); otherwise a 4-byte placeholder (the loss
    /// kernel reads rows in their own order).
    pub fn new(
        ctx: &GpuContext,
        label: &str,
        capacity: usize,
        fit: FitParams,
        with_order: bool,
        shared: &Shared,
    ) -> Shard {
        use wgpu::BufferUsages as U;
        let device = &ctx.device;
        let d = fit.n_features as u64;
        let x = buffer(
            device,
            &format!("{label} x"),
            capacity as u64 * d * 4,
            U::STORAGE | U::COPY_DST,
        );
        let y = buffer(
            device,
            &format!("{label} y"),
            capacity as u64 * 4,
            U::STORAGE | U::COPY_DST,
        );
        let order_len = if with_order { capacity as u64 } else { 1 };
        let order = buffer(
            device,
            &format!("{label} order"),
            order_len * 4,
            U::STORAGE | U::COPY_DST,
        );
        let weighted = fit.flags & layout::FLAG_WEIGHTED != 0;
        let row_weight = buffer(
            device,
            &format!("{label} row weights"),
            if weighted { capacity as u64 * 4 } else { 4 },
            U::STORAGE | U::COPY_DST,
        );
        let fit_buf = buffer(
            device,
            &format!("{label} fit params"),
            std::mem::size_of::<FitParams>() as u64,
            U::UNIFORM | U::COPY_DST,
        );
        let entry = |binding, resource| wgpu::BindGroupEntry { binding, resource };
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &ctx.kernels.layout,
            entries: &[
                entry(binding::FIT, fit_buf.as_entire_binding()),
                entry(
                    binding::STEP,
                    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: shared.steps,
                        offset: 0,
                        size: std::num::NonZeroU64::new(std::mem::size_of::<StepParams>() as u64),
                    }),
                ),
                entry(binding::X, x.as_entire_binding()),
                entry(binding::Y, y.as_entire_binding()),
                entry(binding::ORDER, order.as_entire_binding()),
                entry(binding::WEIGHTS, shared.weights.as_entire_binding()),
                entry(binding::VELOCITY, shared.velocity.as_entire_binding()),
                entry(binding::SCRATCH, shared.scratch.as_entire_binding()),
                entry(binding::ROW_WEIGHT, row_weight.as_entire_binding()),
            ],
        });
        Shard {
            rows: 0..0,
            x,
            y,
            order,
            row_weight,
            fit_buf,
            fit,
            bind_group,
        }
    }

    /// Puts rows `rows` of (`x`, `y`) (row-major, `d` features) into the shard and updates its
    /// row count. Queued: takes effect before the next submission.
    pub fn load(&mut self, ctx: &GpuContext, data: DataRef, rows: Range<usize>) {
        let DataRef { x, y, row_weight } = data;
        let d = self.fit.n_features as usize;
        if let Some(w) = row_weight.filter(|_| self.fit.flags & layout::FLAG_WEIGHTED != 0) {
            upload(
                ctx,
                &self.row_weight,
                0,
                bytemuck::cast_slice(&w[rows.clone()]),
            );
        }
        upload(
            ctx,
            &self.x,
            0,
            bytemuck::cast_slice(&x[rows.start * d..rows.end * d]),
        );
        upload(ctx, &self.y, 0, bytemuck::cast_slice(&y[rows.clone()]));
        self.fit.n_rows = rows.len() as u32;
        self.fit.loss_workgroups = layout::loss_workgroups(rows.len());
        ctx.queue
            .write_buffer(&self.fit_buf, 0, bytemuck::bytes_of(&self.fit));
        self.rows = rows;
    }

    /// Writes the shard's row order (local row indices, batch by batch).
    pub fn load_order(&self, ctx: &GpuContext, order: &[u32]) {
        upload(ctx, &self.order, 0, bytemuck::cast_slice(order));
    }

    pub fn loss_workgroups(&self) -> u32 {
        self.fit.loss_workgroups
    }
}

/// Splits `n` rows into consecutive shards of at most `shard_rows` rows.
pub fn shard_ranges(n: usize, shard_rows: usize) -> Vec<Range<usize>> {
    (0..n.div_ceil(shard_rows))
        .map(|s| s * shard_rows..((s + 1) * shard_rows).min(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BatchSize;

    fn cfg(batch: usize) -> FitConfig {
        FitConfig {
            batch_size: BatchSize::Rows(batch),
            ..FitConfig::default()
        }
    }

    #[test]
    fn small_bindings_shard_and_small_budgets_stream() {
        let none = GpuOptions::default();
        assert_eq!(
            plan_residency(1 << 20, &none, 1000, 8, &cfg(10)).unwrap(),
            Residency::Resident { shard_rows: 32768 }
        );
        let narrow = GpuOptions {
            max_binding_bytes: Some(320),
            ..none
        };
        assert_eq!(
            plan_residency(1 << 20, &narrow, 1000, 8, &cfg(10)).unwrap(),
            Residency::Resident { shard_rows: 10 }
        );
        // 1000 rows × 40 bytes = 40 000 > 8 000: two chunks of ≤ 100 rows, a multiple of 30.
        let budget = GpuOptions {
            memory_budget: Some(8000),
            ..none
        };
        assert_eq!(
            plan_residency(1 << 20, &budget, 1000, 8, &cfg(30)).unwrap(),
            Residency::Streamed { chunk_rows: 90 }
        );
        assert!(plan_residency(1 << 20, &budget, 1000, 8, &cfg(200)).is_err());
        assert!(plan_residency(1 << 20, &budget, 1000, 8, &cfg(1000)).is_err());
        assert!(plan_residency(16, &none, 1000, 8, &cfg(10)).is_err());
        assert_eq!(shard_ranges(25, 10), vec![0..10, 10..20, 20..25]);
    }
}
