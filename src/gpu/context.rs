//! The GPU context: adapter choice, device with the adapter's own limits, the pipelines (built
//! once), and the capture of wgpu errors so that none of them becomes a panic.

use super::kernels::{Kernel, Kernels};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One adapter as `gpu-regfit devices` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterDesc {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub max_storage_binding: u64,
    pub max_buffer: u64,
    /// Features::SUBGROUP (informational: no kernel needs it).
    pub subgroups: bool,
    /// Features::TIMESTAMP_QUERY (pass timing in `bench`).
    pub timestamps: bool,
    /// Features::SHADER_FLOAT32_ATOMIC (the sparse gradient's atomic adds; else compare-exchange).
    pub float_atomics: bool,
}

impl AdapterDesc {
    fn new(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        AdapterDesc {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            max_storage_binding: limits.max_storage_buffer_binding_size,
            max_buffer: limits.max_buffer_size,
            subgroups: adapter.features().contains(wgpu::Features::SUBGROUP),
            timestamps: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            float_atomics: adapter
                .features()
                .contains(wgpu::Features::SHADER_FLOAT32_ATOMIC),
        }
    }

    /// "NAME (Vulkan, DiscreteGpu)".
    pub fn label(&self) -> String {
        format!("{} ({}, {})", self.name, self.backend, self.device_type)
    }

    pub fn is_software(&self) -> bool {
        self.device_type == "Cpu"
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// Every adapter wgpu can see, best first (discrete, integrated, virtual, software).
pub fn list_adapters() -> Vec<AdapterDesc> {
    let mut list: Vec<_> = adapters(&instance()).iter().map(AdapterDesc::new).collect();
    list.sort_by_key(|a| rank(&a.device_type));
    list
}

fn rank(device_type: &str) -> u8 {
    match device_type {
        "DiscreteGpu" => 0,
        "IntegratedGpu" => 1,
        "VirtualGpu" => 2,
        "Other" => 3,
        _ => 4, // Cpu
    }
}

/// Error scopes pushed by [`GpuContext::capture`], popped by [`GpuContext::release`].
pub(crate) struct Captured {
    oom: wgpu::ErrorScopeGuard,
    invalid: wgpu::ErrorScopeGuard,
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterDesc,
    pub limits: wgpu::Limits,
    pub kernels: Kernels,
    /// Whether passes can be timed with timestamp queries (Features::TIMESTAMP_QUERY).
    pub timestamps: bool,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period: f32,
    /// Whether shaders may add f32 atomically (Features::SHADER_FLOAT32_ATOMIC); without it the
    /// sparse gradient adds by compare-exchange. `GPU_REGFIT_NO_FLOAT_ATOMICS=1` turns it off
    /// (bench and tests compare the two).
    pub float_atomics: bool,
    /// Pipelines of shaped kernels, built on first use: (kernel, features, outputs).
    shaped: Mutex<HashMap<(Kernel, usize, usize), wgpu::ComputePipeline>>,
    /// First uncaptured wgpu error (validation, out of memory), if any.
    errors: Arc<Mutex<Option<String>>>,
    /// Why the device was lost, once it is.
    lost: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Opens the best adapter, or the first whose name contains `name_filter` (case-insensitive),
    /// or with `#N` the N-th adapter (from 0) in the order `devices` lists them: one of several
    /// identical GPUs, e.g. one per Dask worker.
    pub fn new(name_filter: Option<&str>) -> Result<Self> {
        let instance = instance();
        let mut found = adapters(&instance);
        if found.is_empty() {
            return Err(Error::NoAdapter);
        }
        found.sort_by_key(|a| rank(&format!("{:?}", a.get_info().device_type)));
        let adapter = match name_filter {
            None => found.swap_remove(0),
            Some(wanted) if wanted.starts_with('#') => match wanted[1..].parse::<usize>() {
                Ok(i) if i < found.len() => found.swap_remove(i),
                _ => {
                    return Err(Error::AdapterNotFound {
                        wanted: wanted.into(),
                        available: format!("#0..#{}", found.len() - 1),
                    })
                }
            },
            Some(wanted) => {
                let lower = wanted.to_lowercase();
                match found
                    .iter()
                    .position(|a| a.get_info().name.to_lowercase().contains(&lower))
                {
                    Some(i) => found.swap_remove(i),
                    None => {
                        return Err(Error::AdapterNotFound {
                            wanted: wanted.into(),
                            available: found
                                .iter()
                                .map(|a| a.get_info().name)
                                .collect::<Vec<_>>()
                                .join(", "),
                        })
                    }
                }
            }
        };
        let desc = AdapterDesc::new(&adapter);
        // The adapter's own limits: wgpu's defaults cap a binding at 128 MiB.
        let limits = adapter.limits();
        let no_float_atomics = std::env::var_os("GPU_REGFIT_NO_FLOAT_ATOMICS")
            .is_some_and(|v| !v.is_empty() && v != "0");
        let wanted = if no_float_atomics {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_FLOAT32_ATOMIC
        };
        let features = adapter.features() & wanted;
        let float_atomics = features.contains(wgpu::Features::SHADER_FLOAT32_ATOMIC);
        let timestamps = features.contains(wgpu::Features::TIMESTAMP_QUERY);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("gpu-regfit"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::gpu(format!("could not open {}: {e}", desc.label())))?;
        let errors: Arc<Mutex<Option<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| crate::error::one_line(&e.to_string()));
            }
        }));
        let lost: Arc<Mutex<Option<String>>> = Arc::default();
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = lost_sink.lock() {
                slot.get_or_insert_with(|| {
                    crate::error::one_line(&format!("{reason:?}: {message}"))
                });
            }
        });
        let kernels = Kernels::new(&device)?;
        let timestamp_period = queue.get_timestamp_period();
        Ok(GpuContext {
            device,
            queue,
            adapter: desc,
            limits,
            kernels,
            timestamps,
            timestamp_period,
            float_atomics,
            shaped: Mutex::default(),
            errors,
            lost,
        })
    }

    /// Waits until the device has run everything submitted, then reports any error (`check`).
    pub fn wait_idle(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::gpu(format!("waiting for the device failed: {e}")))?;
        self.check()
    }

    /// Returns `Error::DeviceLost` once the device is lost, else the first wgpu error raised since
    /// the context was made, as `Error::Gpu`.
    pub fn check(&self) -> Result<()> {
        // A lost device is reported to the callback while the device is maintained.
        let _ = self.device.poll(wgpu::PollType::Poll);
        if let Some(reason) = self.lost.lock().ok().and_then(|slot| slot.clone()) {
            return Err(Error::DeviceLost(reason));
        }
        match self.errors.lock().ok().and_then(|slot| slot.clone()) {
            Some(message) => Err(Error::Gpu(message)),
            None => Ok(()),
        }
    }

    /// Builds a compute pipeline from WGSL over the fit's bindings (kernels added at run time, and
    /// the test that a broken shader is a typed error): a shader or pipeline error is `Error::Gpu`.
    pub fn pipeline(
        &self,
        label: &str,
        source: &str,
        entry: &str,
    ) -> Result<wgpu::ComputePipeline> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = super::kernels::build_pipeline(
            &self.device,
            &self.kernels.pipeline_layout,
            label,
            source,
            entry,
        );
        match pollster::block_on(scope.pop()) {
            Some(e) => {
                self.check()?;
                Err(Error::gpu(format!(
                    "building pipeline `{label}` failed: {e}"
                )))
            }
            None => self.check().map(|()| pipeline),
        }
    }

    /// A buffer, or a typed error: out of memory is `Error::DeviceMemory`, any other failure (a
    /// size past the device's limit, a lost device) `Error::Gpu` or `Error::DeviceLost`.
    pub fn buffer(
        &self,
        label: &str,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let captured = self.capture();
        let buffer = super::buffers::buffer(&self.device, label, bytes, usage);
        self.release(
            captured,
            &format!("creating buffer `{label}` ({bytes} bytes)"),
            bytes,
        )?;
        Ok(buffer)
    }

    /// Starts capturing the device's out-of-memory and validation errors (see [`Self::release`]).
    pub(crate) fn capture(&self) -> Captured {
        Captured {
            oom: self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory),
            invalid: self.device.push_error_scope(wgpu::ErrorFilter::Validation),
        }
    }

    /// Ends a capture: a lost device explains any error; else a validation error is `Error::Gpu`
    /// ("`what` failed: ..."), out of memory `Error::DeviceMemory` for `bytes`.
    pub(crate) fn release(&self, captured: Captured, what: &str, bytes: u64) -> Result<()> {
        let invalid = pollster::block_on(captured.invalid.pop());
        let oom = pollster::block_on(captured.oom.pop());
        if invalid.is_some() || oom.is_some() {
            self.check()?;
        }
        if let Some(e) = invalid {
            return Err(Error::gpu(format!("{what} failed: {e}")));
        }
        if let Some(e) = oom {
            return Err(Error::DeviceMemory {
                bytes,
                message: crate::error::one_line(&e.to_string()),
            });
        }
        self.check()
    }

    /// The pipeline of a shaped kernel (grad_rows, step_rows, read_rows) for `features` and
    /// `outputs`, built once per shape and kept.
    pub fn shaped(
        &self,
        kernel: Kernel,
        features: usize,
        outputs: usize,
    ) -> Result<wgpu::ComputePipeline> {
        let key = (kernel, features, outputs);
        if let Some(p) = self.shaped.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(p);
        }
        let pipeline = self.pipeline(
            kernel.name(),
            &kernel.source_for((features, outputs)),
            kernel.name(),
        )?;
        if let Ok(mut m) = self.shaped.lock() {
            m.insert(key, pipeline.clone());
        }
        Ok(pipeline)
    }

    /// How the gradient kernels are laid out on this adapter (see [`layout::KernelPolicy`]).
    pub fn policy(&self) -> super::layout::KernelPolicy {
        super::layout::KernelPolicy::for_adapter(self.adapter.is_software())
    }

    /// Largest buffer that one storage binding may hold on this device.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}
