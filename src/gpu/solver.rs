//! The GPU solver: buffers made once per fit, every step recorded as two dispatches (grad_partials,
//! update) into command buffers of up to `STEPS_PER_SUBMIT` steps, and a readback only at log points.

use super::context::GpuContext;
use super::layout::{
    self, binding, FitParams, StepParams, FLAG_INTERCEPT, FLAG_MOMENTUM, FLAG_PROX,
};
use crate::config::{FitConfig, L1Update, Optimizer};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::{drive, Engine, FitResult, Solver};
use crate::schedule::{Batch, BatchPlan};
use std::sync::Arc;
use std::time::Instant;
use wgpu::util::DeviceExt;

/// Steps recorded into one command buffer (each has its own slot in the step-parameter buffer).
const STEPS_PER_SUBMIT: usize = 256;

pub struct GpuSolver {
    ctx: Arc<GpuContext>,
}

impl GpuSolver {
    /// Opens the best adapter, or the first whose name contains `adapter`.
    pub fn new(adapter: Option<&str>) -> Result<Self> {
        Ok(GpuSolver {
            ctx: Arc::new(GpuContext::new(adapter)?),
        })
    }

    /// Shares an open context (tests and benches fit many models on one device).
    pub fn with_context(ctx: Arc<GpuContext>) -> Self {
        GpuSolver { ctx }
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }
}

impl Solver for GpuSolver {
    fn device(&self) -> String {
        self.ctx.adapter.label()
    }

    fn fit_raw(&mut self, data: &Dataset, cfg: &FitConfig) -> Result<FitResult> {
        let setup = Instant::now();
        let mut engine = GpuEngine::new(&self.ctx, data, cfg)?;
        drive(
            &mut engine,
            data,
            cfg,
            self.device(),
            setup.elapsed().as_secs_f64(),
        )
    }
}

/// The device-side state of one fit.
pub struct GpuEngine<'a> {
    ctx: &'a GpuContext,
    n_rows: usize,
    width: usize,
    tile_rows: u32,
    loss_workgroups: u32,
    step_stride: u64,
    order: wgpu::Buffer,
    weights: wgpu::Buffer,
    scratch: wgpu::Buffer,
    steps: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    step_bytes: Vec<u8>,
}

impl<'a> GpuEngine<'a> {
    pub fn new(ctx: &'a GpuContext, data: &Dataset, cfg: &FitConfig) -> Result<Self> {
        let (n, d) = (data.n_rows(), data.n_features());
        if d > layout::TILE_FLOATS as usize {
            return Err(Error::TooManyFeatures {
                features: d,
                limit: layout::TILE_FLOATS as usize,
            });
        }
        let k_out = 1usize;
        let width = k_out * (d + 1);
        let x_bytes = (n * d * 4) as u64;
        let limit = ctx.max_binding_bytes();
        if x_bytes > limit {
            return Err(Error::TooLargeForBinding {
                what: "the design matrix X",
                bytes: x_bytes,
                limit,
            });
        }
        let plan = BatchPlan::new(cfg, n);
        let tile_rows = layout::tile_rows(d, k_out);
        let max_partials = layout::grad_workgroups(plan.batch_rows, tile_rows) as usize;
        let loss_workgroups = layout::loss_workgroups(n);
        let scratch_floats = (max_partials * width).max(loss_workgroups as usize);
        let align = ctx.limits.min_uniform_buffer_offset_alignment as u64;
        let step_stride = (std::mem::size_of::<StepParams>() as u64).div_ceil(align) * align;

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
        let fit = FitParams {
            n_rows: n as u32,
            n_features: d as u32,
            n_outputs: k_out as u32,
            stride: (d + 1) as u32,
            tile_rows,
            flags,
            loss_workgroups,
            l1: cfg.penalty.l1 as f32,
            l2: cfg.penalty.l2 as f32,
            bias_l1: cfg.penalty.bias_l1 as f32,
            bias_l2: cfg.penalty.bias_l2 as f32,
            momentum: cfg.momentum as f32,
            ..Default::default()
        };

        let device = &ctx.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = device.push_error_scope(wgpu::ErrorFilter::Validation);
        use wgpu::BufferUsages as U;
        let init = |label: &str, contents: &[u8], usage: U| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
        };
        let zeros = |label: &str, bytes: u64, usage: U| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.max(4),
                usage,
                mapped_at_creation: false,
            })
        };
        let x_slice = data
            .x
            .as_slice()
            .expect("Dataset keeps X in standard layout");
        let y_slice = data.y.as_slice().expect("Dataset keeps y contiguous");
        let x = init("x", bytemuck::cast_slice(x_slice), U::STORAGE);
        let y = init("y", bytemuck::cast_slice(y_slice), U::STORAGE);
        let order = zeros("order", (n * 4) as u64, U::STORAGE | U::COPY_DST);
        let weights = zeros(
            "weights",
            (width * 4) as u64,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        let velocity = zeros("velocity", (width * 4) as u64, U::STORAGE);
        let scratch = zeros(
            "scratch",
            (scratch_floats * 4) as u64,
            U::STORAGE | U::COPY_SRC,
        );
        let fit_buf = init("fit params", bytemuck::bytes_of(&fit), U::UNIFORM);
        let steps = zeros(
            "step params",
            STEPS_PER_SUBMIT as u64 * step_stride,
            U::UNIFORM | U::COPY_DST,
        );
        let staging = zeros(
            "staging",
            ((width + loss_workgroups as usize) * 4) as u64,
            U::MAP_READ | U::COPY_DST,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("regfit bind group"),
            layout: &ctx.kernels.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: binding::FIT,
                    resource: fit_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: binding::STEP,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &steps,
                        offset: 0,
                        size: std::num::NonZeroU64::new(std::mem::size_of::<StepParams>() as u64),
                    }),
                },
                wgpu::BindGroupEntry {
                    binding: binding::X,
                    resource: x.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: binding::Y,
                    resource: y.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: binding::ORDER,
                    resource: order.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: binding::WEIGHTS,
                    resource: weights.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: binding::VELOCITY,
                    resource: velocity.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: binding::SCRATCH,
                    resource: scratch.as_entire_binding(),
                },
            ],
        });
        if let Some(e) = pollster::block_on(invalid.pop()) {
            return Err(Error::Gpu(format!(
                "creating the fit's buffers failed: {e}"
            )));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(Error::Gpu(format!(
                "out of device memory for {n} rows × {d} features ({x_bytes} bytes of X): {e}"
            )));
        }
        ctx.check()?;
        Ok(GpuEngine {
            ctx,
            n_rows: n,
            width,
            tile_rows,
            loss_workgroups,
            step_stride,
            order,
            weights,
            scratch,
            steps,
            staging,
            bind_group,
            step_bytes: vec![0; STEPS_PER_SUBMIT * step_stride as usize],
        })
    }

    /// Reads `bytes` bytes of the staging buffer after the queued work finishes.
    fn read_staging(&self, bytes: u64) -> Result<Vec<f32>> {
        let slice = self.staging.slice(..bytes);
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the device failed: {e}")))?;
        match pollster::block_on(rx.receive()) {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Gpu(format!("reading results back failed: {e}"))),
            None => {
                return Err(Error::Gpu(
                    "reading results back failed: no answer from the device".into(),
                ))
            }
        }
        let values = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("reading results back failed: {e}")))?;
            bytemuck::cast_slice::<u8, f32>(&view).to_vec()
        };
        self.staging.unmap();
        self.ctx.check()?;
        Ok(values)
    }
}

impl Engine for GpuEngine<'_> {
    fn finish(&mut self) -> Result<()> {
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the device failed: {e}")))?;
        self.ctx.check()
    }

    fn set_order(&mut self, order: &[u32]) -> Result<()> {
        self.ctx
            .queue
            .write_buffer(&self.order, 0, bytemuck::cast_slice(order));
        Ok(())
    }

    fn run_steps(&mut self, batches: &[Batch], lrs: &[f64]) -> Result<()> {
        let update_groups = (self.width as u32).div_ceil(layout::WORKGROUP_SIZE);
        for (chunk, chunk_lrs) in batches
            .chunks(STEPS_PER_SUBMIT)
            .zip(lrs.chunks(STEPS_PER_SUBMIT))
        {
            let stride = self.step_stride as usize;
            let mut partials = Vec::with_capacity(chunk.len());
            for (i, (batch, &lr)) in chunk.iter().zip(chunk_lrs).enumerate() {
                let num_partials = layout::grad_workgroups(batch.rows, self.tile_rows);
                partials.push(num_partials);
                let params = StepParams {
                    batch_start: batch.start as u32,
                    batch_rows: batch.rows as u32,
                    num_partials,
                    lr: lr as f32,
                    inv_batch: 1.0 / batch.rows as f32,
                    ..Default::default()
                };
                self.step_bytes[i * stride..i * stride + std::mem::size_of::<StepParams>()]
                    .copy_from_slice(bytemuck::bytes_of(&params));
            }
            self.ctx
                .queue
                .write_buffer(&self.steps, 0, &self.step_bytes[..chunk.len() * stride]);
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("steps"),
                    timestamp_writes: None,
                });
                for (i, &num_partials) in partials.iter().enumerate() {
                    let offset = (i * stride) as u32;
                    pass.set_bind_group(0, &self.bind_group, &[offset]);
                    pass.set_pipeline(&self.ctx.kernels.grad_partials);
                    pass.dispatch_workgroups(num_partials, 1, 1);
                    pass.set_pipeline(&self.ctx.kernels.update);
                    pass.dispatch_workgroups(update_groups, 1, 1);
                }
            }
            self.ctx.queue.submit([encoder.finish()]);
        }
        Ok(())
    }

    fn log_point(&mut self) -> Result<(Vec<f64>, f64)> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("data loss"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &self.bind_group, &[0]);
            pass.set_pipeline(&self.ctx.kernels.data_loss);
            pass.dispatch_workgroups(self.loss_workgroups, 1, 1);
        }
        let weight_bytes = (self.width * 4) as u64;
        let loss_bytes = self.loss_workgroups as u64 * 4;
        encoder.copy_buffer_to_buffer(&self.weights, 0, &self.staging, 0, weight_bytes);
        encoder.copy_buffer_to_buffer(&self.scratch, 0, &self.staging, weight_bytes, loss_bytes);
        self.ctx.queue.submit([encoder.finish()]);
        let values = self.read_staging(weight_bytes + loss_bytes)?;
        let params: Vec<f64> = values[..self.width].iter().map(|&v| v as f64).collect();
        let loss_sum: f64 = values[self.width..].iter().map(|&v| v as f64).sum();
        Ok((params, loss_sum / self.n_rows as f64))
    }
}
