//! The shader table: one WGSL file per kernel, embedded at compile time, and the pipelines built
//! from them once per context over one shared bind-group layout.

use super::layout::{self, binding, StepParams};
use super::unroll;
use crate::error::{Error, Result};

/// sigmoid and softplus, shared by every kernel (the block kernel included).
pub const MATH: &str = include_str!("../../shaders/math.wgsl");

/// The kernels, each in `shaders/<name>.wgsl` with entry point `<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    GradPartials,
    GradRows,
    StepRows,
    ReadRows,
    Update,
    DataLoss,
    ApgUpdate,
    DualLoss,
}

impl Kernel {
    pub const ALL: [Kernel; 8] = [
        Kernel::GradPartials,
        Kernel::GradRows,
        Kernel::StepRows,
        Kernel::ReadRows,
        Kernel::Update,
        Kernel::DataLoss,
        Kernel::ApgUpdate,
        Kernel::DualLoss,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::GradPartials => "grad_partials",
            Kernel::GradRows => "grad_rows",
            Kernel::StepRows => "step_rows",
            Kernel::ReadRows => "read_rows",
            Kernel::Update => "update",
            Kernel::DataLoss => "data_loss",
            Kernel::ApgUpdate => "apg_update",
            Kernel::DualLoss => "dual_loss",
        }
    }

    /// Whether the kernel is built per shape (D and K as constants, see
    /// [`layout::shape_constants`]) rather than once per context.
    pub fn is_shaped(self) -> bool {
        matches!(self, Kernel::GradRows | Kernel::StepRows | Kernel::ReadRows)
    }

    fn body(self, (d, k): (usize, usize)) -> String {
        let grad_rows = include_str!("../../shaders/grad_rows.wgsl");
        let update = concat!(
            include_str!("../../shaders/update_rule.wgsl"),
            include_str!("../../shaders/update.wgsl")
        );
        // One row's work for the shaped kernels: unrolled for narrow shapes, else the loops.
        let rows = || {
            if layout::unrolls_rows(d, k) {
                unroll::unrolled_rows(d, k)
            } else {
                include_str!("../../shaders/row_loops.wgsl").into()
            }
        };
        match self {
            Kernel::GradPartials => include_str!("../../shaders/grad_partials.wgsl").into(),
            Kernel::GradRows => format!("{grad_rows}\n{}", rows()),
            // The single-dispatch step reuses grad_rows' sums and update's apply_update.
            Kernel::StepRows => format!(
                "{grad_rows}\n{}\n{update}\n{}",
                rows(),
                include_str!("../../shaders/step_rows.wgsl")
            ),
            // The roofline reads rows with the read_row that goes with grad_rows' add_row.
            Kernel::ReadRows => format!(
                "{grad_rows}\n{}\n{}",
                rows(),
                include_str!("../../shaders/read_rows.wgsl")
            ),
            Kernel::Update => update.into(),
            Kernel::DataLoss => include_str!("../../shaders/data_loss.wgsl").into(),
            Kernel::ApgUpdate => include_str!("../../shaders/apg_update.wgsl").into(),
            Kernel::DualLoss => include_str!("../../shaders/dual_loss.wgsl").into(),
        }
    }

    /// The full WGSL source: generated constants, shaders/math.wgsl, shaders/common.wgsl, then
    /// the kernel. A
    /// shaped kernel is built for `shape` = (features, outputs); the others ignore it.
    pub fn source_for(self, shape: (usize, usize)) -> String {
        let shaped = if self.is_shaped() {
            layout::shape_constants(shape.0, shape.1)
        } else {
            String::new()
        };
        format!(
            "{}{shaped}\n{}\n{}\n{}",
            layout::wgsl_constants(),
            MATH,
            include_str!("../../shaders/common.wgsl"),
            self.body(shape)
        )
    }

    /// The source of a kernel that is not shaped (a shaped one gets a sample shape, 4 × 1).
    pub fn source(self) -> String {
        self.source_for((4, 1))
    }
}

pub struct Kernels {
    pub layout: wgpu::BindGroupLayout,
    pub pipeline_layout: wgpu::PipelineLayout,
    pub grad_partials: wgpu::ComputePipeline,
    pub update: wgpu::ComputePipeline,
    pub data_loss: wgpu::ComputePipeline,
    pub apg_update: wgpu::ComputePipeline,
    pub dual_loss: wgpu::ComputePipeline,
}

fn entry(binding: u32, ty: wgpu::BufferBindingType, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A compute pipeline from WGSL `source` over the fit's bindings. Errors go to the device's error
/// scope or handler (the callers capture them); nothing here panics.
/// A compute binding of the engines with one parameter slot per dispatch (the network, sparse
/// data): binding 0 is the uniform parameters at a dynamic offset, the others storage.
pub(crate) fn layout_entry(
    binding: u32,
    ty: wgpu::BufferBindingType,
    min: u64,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: binding == 0,
            min_binding_size: std::num::NonZeroU64::new(min),
        },
        count: None,
    }
}

pub fn build_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    label: &str,
    source: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: Some(layout),
        module: &module,
        entry_point: Some(entry),
        // Every kernel writes its workgroup arrays before reading them, so the zero-fill wgpu
        // would add for safety is wasted work.
        compilation_options: wgpu::PipelineCompilationOptions {
            zero_initialize_workgroup_memory: false,
            ..Default::default()
        },
        cache: None,
    })
}

impl Kernels {
    /// Builds the layout and every pipeline that is not shaped (those are built per shape by
    /// [`super::GpuContext::shaped`]); validation errors come back as `Error::Gpu`.
    pub fn new(device: &wgpu::Device) -> Result<Self> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        use wgpu::BufferBindingType::{Storage, Uniform};
        let step_size = std::num::NonZeroU64::new(std::mem::size_of::<StepParams>() as u64);
        let mut step_entry = entry(binding::STEP, Uniform, true);
        if let wgpu::BindingType::Buffer {
            min_binding_size, ..
        } = &mut step_entry.ty
        {
            *min_binding_size = step_size;
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("regfit bindings"),
            entries: &[
                entry(binding::FIT, Uniform, false),
                step_entry,
                entry(binding::X, Storage { read_only: true }, false),
                entry(binding::Y, Storage { read_only: true }, false),
                entry(binding::ORDER, Storage { read_only: true }, false),
                entry(binding::WEIGHTS, Storage { read_only: false }, false),
                entry(binding::VELOCITY, Storage { read_only: false }, false),
                entry(binding::SCRATCH, Storage { read_only: false }, false),
                entry(binding::ROW_WEIGHT, Storage { read_only: true }, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("regfit pipeline layout"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let build = |kernel: Kernel| {
            build_pipeline(
                device,
                &pipeline_layout,
                kernel.name(),
                &kernel.source(),
                kernel.name(),
            )
        };
        let kernels = Kernels {
            grad_partials: build(Kernel::GradPartials),
            update: build(Kernel::Update),
            data_loss: build(Kernel::DataLoss),
            apg_update: build(Kernel::ApgUpdate),
            dual_loss: build(Kernel::DualLoss),
            layout,
            pipeline_layout,
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::gpu(format!(
                "building the compute pipelines failed: {e}"
            )));
        }
        Ok(kernels)
    }
}
