//! The GPU's block engine (src/block.rs): X, y and every part's row weights are uploaded once;
//! each pass is one dispatch of shaders/block_rows.wgsl over all rows for every model of the
//! block, one of block_reduce, and one readback of the models' sums (M·C·(d + 1) + M floats).
//! CPU twin: src/cpu/block.rs::block_rows.

use super::context::GpuContext;
use super::layout::{self, model_code, MODEL_GRAM, SOFTWARE_LOOP_BUDGET, WORKGROUP_SIZE};
use super::solver::map_and_read;
use crate::apg;
use crate::block::{BlockEngine, Parts};
use crate::config::Model;
use crate::error::{Error, Result};
use crate::gap::DualPoint;
use crate::weights::Weights;
use bytemuck::{Pod, Zeroable};
use std::sync::Arc;

/// Workgroup memory of block_rows, in f32: the tile of X, the residuals and the losses.
pub const BLOCK_TILE_FLOATS: u32 = 3584;
/// Rows per tile at most (more rows per tile, fewer barriers per row).
const MAX_TILE_ROWS: u32 = 64;
/// Fewest rows per tile worth having: the models of one dispatch are limited so that at least
/// this many rows fit.
const MIN_TILE_ROWS: u32 = 8;
const MODE_GRADIENT: u32 = 0;
const MODE_DUAL: u32 = 1;
/// Most workgroups of block_rows on a hardware GPU (each keeps a row of partial sums).
const MAX_GROUPS: u32 = 1024;

/// Keep in sync with `struct BlockParams` in shaders/block_rows.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct BlockParams {
    n_rows: u32,
    d: u32,
    models: u32,
    outputs: u32,
    stride: u32,
    width: u32,
    model: u32,
    mode: u32,
    tile_rows: u32,
    groups: u32,
    dual_stride: u32,
    _pad: u32,
}

/// The WGSL of the block kernel: generated constants, shaders/math.wgsl, the kernel.
pub fn block_source() -> String {
    format!(
        "{}const BLOCK_TILE_FLOATS: u32 = {BLOCK_TILE_FLOATS}u;\nconst MODE_GRADIENT: u32 = \
         {MODE_GRADIENT}u;\nconst MODE_DUAL: u32 = {MODE_DUAL}u;\n{}\n{}",
        layout::wgsl_constants(),
        super::kernels::MATH,
        include_str!("../../shaders/block_rows.wgsl")
    )
}

pub struct GpuBlockEngine<'a> {
    ctx: Arc<GpuContext>,
    model: Model,
    parts: &'a Parts,
    layout: wgpu::BindGroupLayout,
    rows: wgpu::ComputePipeline,
    reduce: wgpu::ComputePipeline,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    part_weight: wgpu::Buffer,
    outputs: usize,
    /// Models per dispatch at most (workgroup memory).
    max_models: usize,
    /// The per-pass buffers and their bind group, kept between passes.
    scratch: Option<Scratch>,
}

/// params, model parts, duals, weights, partials, total, staging: the buffers a pass writes.
struct Scratch {
    sizes: [u64; 6],
    buffers: [wgpu::Buffer; 7],
    bind: wgpu::BindGroup,
}

impl Scratch {
    /// Buffers of `sizes` bytes (the staging buffer as large as `total`) and their bind group.
    fn new(engine: &GpuBlockEngine, sizes: [u64; 6]) -> Self {
        use wgpu::BufferUsages as U;
        let device = &engine.ctx.device;
        let make =
            |label: &str, bytes: u64, usage: U| super::buffers::buffer(device, label, bytes, usage);
        let buffers = [
            make("block params", sizes[0], U::UNIFORM | U::COPY_DST),
            make("block model parts", sizes[1], U::STORAGE | U::COPY_DST),
            make("block duals", sizes[2], U::STORAGE | U::COPY_DST),
            make("block weights", sizes[3], U::STORAGE | U::COPY_DST),
            make("block partials", sizes[4], U::STORAGE),
            make("block total", sizes[5], U::STORAGE | U::COPY_SRC),
            make("block readback", sizes[5], U::MAP_READ | U::COPY_DST),
        ];
        let [params, part, dual, weights, partials, total, _] = &buffers;
        let bound = [
            params,
            &engine.x,
            &engine.y,
            &engine.part_weight,
            part,
            dual,
            weights,
            partials,
            total,
        ];
        let entries: Vec<wgpu::BindGroupEntry> = bound
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("block bind group"),
            layout: &engine.layout,
            entries: &entries,
        });
        Scratch {
            sizes,
            buffers,
            bind,
        }
    }
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: if binding == 0 {
                wgpu::BufferBindingType::Uniform
            } else {
                wgpu::BufferBindingType::Storage { read_only }
            },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl<'a> GpuBlockEngine<'a> {
    /// Uploads X, y and the parts' weights, and builds the two pipelines.
    pub fn new(ctx: Arc<GpuContext>, model: Model, parts: &'a Parts) -> Result<Self> {
        let data = &parts.data[parts.all()];
        let (n, d) = (data.n_rows(), data.n_features());
        let outputs = model.outputs(data.n_classes());
        let x_bytes = (n * d * 4) as u64;
        let w_bytes = (parts.data.len() * n * 4) as u64;
        let limit = ctx.max_binding_bytes();
        if x_bytes.max(w_bytes) > limit {
            return Err(Error::DeviceMemory {
                bytes: x_bytes.max(w_bytes),
                message: format!(
                    "the block engine keeps X ({x_bytes} bytes) and the parts' row weights \
                     ({w_bytes} bytes) in one binding each, and this device allows {limit}; \
                     use --device cpu"
                ),
            });
        }
        // Rows per tile at least MIN_TILE_ROWS: tile·(d + models·(C + 1)) floats.
        let per_model = outputs + 1;
        let room = (BLOCK_TILE_FLOATS / MIN_TILE_ROWS) as usize;
        if d + per_model > room {
            return Err(Error::invalid(
                "device",
                "gpu",
                format!(
                    "the GPU block kernel holds {MIN_TILE_ROWS} rows of at most {} features in \
                     workgroup memory and the data has {d}; use --device cpu",
                    room - per_model
                ),
            ));
        }
        let max_models = (room - d) / per_model;
        let source = block_source();
        let captured = ctx.capture();
        let entries: Vec<_> = (0..9).map(|b| storage(b, !(7..=8).contains(&b))).collect();
        let layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("block bindings"),
                entries: &entries,
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("block pipeline layout"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let rows = super::kernels::build_pipeline(
            &ctx.device,
            &pipeline_layout,
            "block_rows",
            &source,
            "block_rows",
        );
        let reduce = super::kernels::build_pipeline(
            &ctx.device,
            &pipeline_layout,
            "block_reduce",
            &source,
            "block_reduce",
        );
        ctx.release(captured, "building the block kernel", 0)?;
        use wgpu::BufferUsages as U;
        let upload = |label: &str, bytes: &[u8]| -> Result<wgpu::Buffer> {
            let b = ctx.buffer(label, bytes.len() as u64, U::STORAGE | U::COPY_DST)?;
            super::buffers::upload(&ctx, &b, 0, bytes);
            Ok(b)
        };
        let x = upload("block x", bytemuck::cast_slice(data.x_slice()))?;
        let y = upload("block y", bytemuck::cast_slice(data.y_slice()))?;
        let mut weights = Vec::with_capacity(parts.data.len() * n);
        for part in &parts.data {
            match part.row_weights() {
                Some(w) => weights.extend_from_slice(w),
                None => weights.extend(std::iter::repeat_n(1.0f32, n)),
            }
        }
        let part_weight = upload("block part weights", bytemuck::cast_slice(&weights))?;
        Ok(GpuBlockEngine {
            ctx,
            model,
            parts,
            layout,
            rows,
            reduce,
            x,
            y,
            part_weight,
            outputs,
            max_models,
            scratch: None,
        })
    }

    /// One pass: for each (part, w) the sums Σ ŵ·r·[x, 1] (C·(d + 1)) and Σ ŵ·loss, divided by n.
    /// `duals`: the dual mode (the loss column holds Σ ŵ·Σₖ p′ₖ log p′ₖ instead).
    fn pass(
        &mut self,
        code: u32,
        points: &[(usize, &[f64])],
        duals: Option<&[&DualPoint]>,
    ) -> Result<Vec<(f64, Vec<f64>)>> {
        let mut out = Vec::with_capacity(points.len());
        for (c, chunk) in points.chunks(self.max_models).enumerate() {
            let first = c * self.max_models;
            let duals = duals.map(|d| &d[first..first + chunk.len()]);
            out.extend(self.dispatch(code, chunk, duals)?);
        }
        Ok(out)
    }

    fn dispatch(
        &mut self,
        code: u32,
        points: &[(usize, &[f64])],
        duals: Option<&[&DualPoint]>,
    ) -> Result<Vec<(f64, Vec<f64>)>> {
        let ctx = self.ctx.clone();
        let ctx = &ctx;
        let data = &self.parts.data[self.parts.all()];
        let (n, d) = (data.n_rows(), data.n_features());
        let outputs = if code == MODEL_GRAM { 1 } else { self.outputs };
        let stride = d + 1;
        let models = points.len();
        let sums = models * outputs * stride;
        let width = sums + models;
        let tile_rows = ((BLOCK_TILE_FLOATS as usize) / (d + models * (outputs + 1)))
            .clamp(1, MAX_TILE_ROWS as usize) as u32;
        let tiles = n.div_ceil(tile_rows as usize) as u32;
        let groups = if ctx.adapter.is_software() {
            // llvmpipe stops a thread past 65 535 loop iterations: enough workgroups that
            // none runs more (the tile's load, its (row, model) pairs, its columns).
            let t = tile_rows as usize;
            let threads = WORKGROUP_SIZE as usize;
            let per_tile = (t * d).div_ceil(threads)
                + (t * models).div_ceil(threads) * (outputs * (d + 4) + 4)
                + width.div_ceil(threads) * (t + 1)
                + 4;
            let tiles_per_group = (SOFTWARE_LOOP_BUDGET / per_tile.max(1)).max(1);
            (tiles as usize)
                .div_ceil(tiles_per_group)
                .max(ctx.policy().max_workgroups as usize) as u32
        } else {
            MAX_GROUPS
        }
        .min(tiles)
        .max(1);
        let classes = outputs.max(2);
        let dual_stride = 3 + classes;
        let params = BlockParams {
            n_rows: n as u32,
            d: d as u32,
            models: models as u32,
            outputs: outputs as u32,
            stride: stride as u32,
            width: width as u32,
            model: code,
            mode: if duals.is_some() {
                MODE_DUAL
            } else {
                MODE_GRADIENT
            },
            tile_rows,
            groups,
            dual_stride: dual_stride as u32,
            _pad: 0,
        };
        let parts: Vec<u32> = points.iter().map(|(p, _)| *p as u32).collect();
        let weights: Vec<f32> = points
            .iter()
            .flat_map(|(_, w)| w.iter().map(|&v| v as f32))
            .collect();
        let mut dual = vec![0.0f32; models * dual_stride];
        if let Some(duals) = duals {
            for (m, point) in duals.iter().enumerate() {
                let at = &mut dual[m * dual_stride..(m + 1) * dual_stride];
                at[0] = (point.c * (1.0 - point.tau)) as f32;
                at[1] = (point.c * point.tau) as f32;
                at[2] = (1.0 - point.c) as f32;
                for (k, q) in point.q.iter().enumerate().take(classes) {
                    at[3 + k] = *q as f32;
                }
            }
        }
        let captured = ctx.capture();
        let total_bytes = (width * 4) as u64;
        let sizes = [
            std::mem::size_of::<BlockParams>() as u64,
            (parts.len() * 4) as u64,
            (dual.len() * 4) as u64,
            (weights.len() * 4) as u64,
            total_bytes * groups as u64,
            total_bytes,
        ];
        if self
            .scratch
            .as_ref()
            .is_none_or(|s| s.sizes.iter().zip(&sizes).any(|(a, b)| a < b))
        {
            // Grown, never shrunk: a block's later passes (fewer models as they converge) reuse
            // the buffers and the bind group of its first.
            self.scratch = Some(Scratch::new(self, sizes));
        }
        let scratch = self.scratch.as_ref().expect("made above");
        let [params_buf, part_buf, dual_buf, w_buf, _, total, staging] = &scratch.buffers;
        ctx.queue
            .write_buffer(params_buf, 0, bytemuck::bytes_of(&params));
        ctx.queue
            .write_buffer(part_buf, 0, bytemuck::cast_slice(&parts));
        if duals.is_some() {
            ctx.queue
                .write_buffer(dual_buf, 0, bytemuck::cast_slice(&dual));
        }
        ctx.queue
            .write_buffer(w_buf, 0, bytemuck::cast_slice(&weights));
        let bind = &scratch.bind;
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("block pass"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_bind_group(0, bind, &[]);
            pass.set_pipeline(&self.rows);
            pass.dispatch_workgroups(groups, 1, 1);
            pass.set_pipeline(&self.reduce);
            pass.dispatch_workgroups((width as u32).div_ceil(WORKGROUP_SIZE), 1, 1);
        }
        encoder.copy_buffer_to_buffer(total, 0, staging, 0, total_bytes);
        let submission = ctx.queue.submit([encoder.finish()]);
        ctx.release(captured, "a block pass", sizes.iter().sum())?;
        let values: Vec<f32> = map_and_read(ctx, staging, total_bytes, submission)?;
        let m = n as f64;
        Ok((0..models)
            .map(|k| {
                let w = outputs * stride;
                let grad = values[k * w..(k + 1) * w]
                    .iter()
                    .map(|&v| v as f64 / m)
                    .collect();
                (values[sums + k] as f64 / m, grad)
            })
            .collect())
    }
}

impl BlockEngine for GpuBlockEngine<'_> {
    fn device(&self) -> String {
        self.ctx.adapter.label()
    }

    fn gram_top(&mut self, part: usize, fit_intercept: bool) -> Result<f64> {
        let d = self.parts.features();
        apg::gram_top(
            &mut |v| {
                let r = self.pass(MODEL_GRAM, &[(part, v)], None)?;
                Ok(r.into_iter().next().map(|(_, g)| g).unwrap_or_default())
            },
            fit_intercept,
            d,
        )
    }

    fn gradients(
        &mut self,
        points: &[(usize, &Weights)],
        _losses: bool,
    ) -> Result<Vec<(f64, Weights)>> {
        let raw: Vec<(usize, &[f64])> = points.iter().map(|(p, w)| (*p, &w.values[..])).collect();
        let out = self.pass(model_code(self.model), &raw, None)?;
        Ok(out
            .into_iter()
            .zip(points)
            .map(|((loss, grad), (_, w))| (loss, Weights::from_values(w.outputs, w.features, grad)))
            .collect())
    }

    fn dual_losses(&mut self, points: &[(usize, &Weights, &DualPoint)]) -> Result<Vec<f64>> {
        let raw: Vec<(usize, &[f64])> =
            points.iter().map(|(p, w, _)| (*p, &w.values[..])).collect();
        let duals: Vec<&DualPoint> = points.iter().map(|(_, _, d)| *d).collect();
        let out = self.pass(model_code(self.model), &raw, Some(&duals))?;
        Ok(out.into_iter().map(|(v, _)| v).collect())
    }

    fn is_f32(&self) -> bool {
        true
    }

    fn preferred_block(&self) -> usize {
        // A pass costs the read of X whatever the models: as many as one dispatch holds, up
        // to 64 (more would shrink the tiles).
        self.max_models.min(64)
    }
}
