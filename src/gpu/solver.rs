//! The GPU solver: buffers made once per fit, every step recorded as two dispatches (grad_partials,
//! update) into command buffers of up to `STEPS_PER_SUBMIT` steps, and a readback only at log points.

use super::context::GpuContext;
use super::layout::{
    self, binding, FitParams, StepParams, FLAG_INTERCEPT, FLAG_MOMENTUM, FLAG_PROX,
};
use crate::config::{FitConfig, L1Update, Model, Optimizer};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::fit::{drive, Engine, FitResult, LogPoint, Solver};
use crate::objective::Metrics;
use crate::schedule::{Batch, BatchPlan};
use crate::weights::Weights;
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

    fn fit_raw(
        &mut self,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
    ) -> Result<FitResult> {
        let setup = Instant::now();
        let mut engine = GpuEngine::new(&self.ctx, data, validation, cfg)?;
        drive(
            &mut engine,
            data,
            validation,
            cfg,
            self.device(),
            setup.elapsed().as_secs_f64(),
        )
    }
}

/// A dataset on the device: X, y, its own FitParams (row count, loss workgroups) and the bind
/// group that reads them. The training set and the validation set each have one.
struct DeviceData {
    n_rows: usize,
    loss_workgroups: u32,
    bind_group: wgpu::BindGroup,
}

/// The buffers every bind group shares.
struct Shared<'b> {
    steps: &'b wgpu::Buffer,
    order: &'b wgpu::Buffer,
    weights: &'b wgpu::Buffer,
    velocity: &'b wgpu::Buffer,
    scratch: &'b wgpu::Buffer,
}

/// The device-side state of one fit.
pub struct GpuEngine<'a> {
    ctx: &'a GpuContext,
    model: Model,
    outputs: usize,
    features: usize,
    width: usize,
    tile_rows: u32,
    step_stride: u64,
    train: DeviceData,
    validation: Option<DeviceData>,
    order: wgpu::Buffer,
    weights: wgpu::Buffer,
    velocity: wgpu::Buffer,
    scratch: wgpu::Buffer,
    steps: wgpu::Buffer,
    staging: wgpu::Buffer,
    step_bytes: Vec<u8>,
}

fn buffer_init(
    device: &wgpu::Device,
    label: &str,
    contents: &[u8],
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents,
        usage,
    })
}

fn buffer_zeroed(
    device: &wgpu::Device,
    label: &str,
    bytes: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(4),
        usage,
        mapped_at_creation: false,
    })
}

impl DeviceData {
    fn upload(
        ctx: &GpuContext,
        what: &str,
        data: &Dataset,
        fit: FitParams,
        shared: &Shared,
    ) -> Result<Self> {
        let (n, d) = (data.n_rows(), data.n_features());
        let x_bytes = (n * d * 4) as u64;
        let limit = ctx.max_binding_bytes();
        if x_bytes > limit {
            return Err(Error::TooLargeForBinding {
                what: "the design matrix X",
                bytes: x_bytes,
                limit,
            });
        }
        let loss_workgroups = layout::loss_workgroups(n);
        let fit = FitParams {
            n_rows: n as u32,
            loss_workgroups,
            ..fit
        };
        use wgpu::BufferUsages as U;
        let device = &ctx.device;
        let x_slice = data
            .x
            .as_slice()
            .expect("Dataset keeps X in standard layout");
        let y_slice = data.y.as_slice().expect("Dataset keeps y contiguous");
        let x = buffer_init(
            device,
            &format!("{what} x"),
            bytemuck::cast_slice(x_slice),
            U::STORAGE,
        );
        let y = buffer_init(
            device,
            &format!("{what} y"),
            bytemuck::cast_slice(y_slice),
            U::STORAGE,
        );
        let fit_buf = buffer_init(
            device,
            &format!("{what} fit params"),
            bytemuck::bytes_of(&fit),
            U::UNIFORM,
        );
        let entry = |binding, resource| wgpu::BindGroupEntry { binding, resource };
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(what),
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
                entry(binding::ORDER, shared.order.as_entire_binding()),
                entry(binding::WEIGHTS, shared.weights.as_entire_binding()),
                entry(binding::VELOCITY, shared.velocity.as_entire_binding()),
                entry(binding::SCRATCH, shared.scratch.as_entire_binding()),
            ],
        });
        Ok(DeviceData {
            n_rows: n,
            loss_workgroups,
            bind_group,
        })
    }
}

impl<'a> GpuEngine<'a> {
    pub fn new(
        ctx: &'a GpuContext,
        data: &Dataset,
        validation: Option<&Dataset>,
        cfg: &FitConfig,
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
        let max_partials = layout::grad_workgroups(plan.batch_rows, tile_rows, width) as usize;
        let max_loss_workgroups = layout::loss_workgroups(n)
            .max(validation.map_or(0, |v| layout::loss_workgroups(v.n_rows())))
            as usize;
        let scratch_floats = (max_partials * width).max(2 * max_loss_workgroups);
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
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = device.push_error_scope(wgpu::ErrorFilter::Validation);
        use wgpu::BufferUsages as U;
        let order = buffer_zeroed(device, "order", (n * 4) as u64, U::STORAGE | U::COPY_DST);
        let weights = buffer_zeroed(
            device,
            "weights",
            (width * 4) as u64,
            U::STORAGE | U::COPY_SRC | U::COPY_DST,
        );
        // Momentum, then the low parts of the weights (see shaders/update.wgsl).
        let velocity = buffer_zeroed(
            device,
            "velocity",
            (2 * width * 4) as u64,
            U::STORAGE | U::COPY_SRC,
        );
        let scratch = buffer_zeroed(
            device,
            "scratch",
            (scratch_floats * 4) as u64,
            U::STORAGE | U::COPY_SRC,
        );
        let steps = buffer_zeroed(
            device,
            "step params",
            STEPS_PER_SUBMIT as u64 * step_stride,
            U::UNIFORM | U::COPY_DST,
        );
        let staging = buffer_zeroed(
            device,
            "staging",
            ((2 * width + 4 * max_loss_workgroups) * 4) as u64,
            U::MAP_READ | U::COPY_DST,
        );
        let shared = Shared {
            steps: &steps,
            order: &order,
            weights: &weights,
            velocity: &velocity,
            scratch: &scratch,
        };
        let train = DeviceData::upload(ctx, "training data", data, fit, &shared);
        let validation = validation
            .map(|v| DeviceData::upload(ctx, "validation data", v, fit, &shared))
            .transpose();
        if let Some(e) = pollster::block_on(invalid.pop()) {
            return Err(Error::Gpu(format!(
                "creating the fit's buffers failed: {e}"
            )));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(Error::Gpu(format!(
                "out of device memory for {n} rows × {d} features ({} bytes of X): {e}",
                n * d * 4
            )));
        }
        let (train, validation) = (train?, validation?);
        ctx.check()?;
        Ok(GpuEngine {
            ctx,
            model: cfg.model,
            outputs: k_out,
            features: d,
            width,
            tile_rows,
            step_stride,
            train,
            validation,
            order,
            weights,
            velocity,
            scratch,
            steps,
            staging,
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
                let num_partials = layout::grad_workgroups(batch.rows, self.tile_rows, self.width);
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
                    pass.set_bind_group(0, &self.train.bind_group, &[offset]);
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

    fn log_point(&mut self) -> Result<LogPoint> {
        // One submission: the loss kernel over each dataset, each result copied to the staging
        // buffer right after its dispatch (scratch is reused), then one readback.
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let weight_bytes = (self.width * 4) as u64;
        encoder.copy_buffer_to_buffer(&self.weights, 0, &self.staging, 0, weight_bytes);
        encoder.copy_buffer_to_buffer(
            &self.velocity,
            weight_bytes,
            &self.staging,
            weight_bytes,
            weight_bytes,
        );
        let mut offset = 2 * weight_bytes;
        let sets: Vec<&DeviceData> = std::iter::once(&self.train)
            .chain(self.validation.as_ref())
            .collect();
        for set in &sets {
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("data loss"),
                    timestamp_writes: None,
                });
                pass.set_bind_group(0, &set.bind_group, &[0]);
                pass.set_pipeline(&self.ctx.kernels.data_loss);
                pass.dispatch_workgroups(set.loss_workgroups, 1, 1);
            }
            let bytes = 2 * set.loss_workgroups as u64 * 4;
            encoder.copy_buffer_to_buffer(&self.scratch, 0, &self.staging, offset, bytes);
            offset += bytes;
        }
        self.ctx.queue.submit([encoder.finish()]);
        let values = self.read_staging(offset)?;
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
        let mut metrics = Vec::new();
        for set in &sets {
            let lw = set.loss_workgroups as usize;
            let loss: f64 = values[at..at + lw].iter().map(|&v| v as f64).sum();
            let correct: u64 = values[at + lw..at + 2 * lw]
                .iter()
                .map(|v| v.to_bits() as u64)
                .sum();
            at += 2 * lw;
            let m = set.n_rows as f64;
            metrics.push(Metrics {
                loss: loss / m,
                accuracy: self.model.is_classifier().then(|| correct as f64 / m),
            });
        }
        Ok(LogPoint {
            weights,
            train: metrics[0],
            validation: metrics.get(1).copied(),
        })
    }
}
