//! Every shader parses and validates with naga (no GPU needed), and the structs shared with WGSL
//! have the same size on both sides.

use gpu_regfit::gpu::kernels::Kernel;
use gpu_regfit::gpu::layout::{FitParams, StepParams};

fn parse(kernel: Kernel) -> naga::Module {
    let source = kernel.source();
    naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
        panic!(
            "{}.wgsl does not parse:\n{}",
            kernel.name(),
            e.emit_to_string(&source)
        )
    })
}

/// Parses and validates `source` (core WGSL, no extra capability), panicking with naga's report
/// under `what`; checks that `entries` are entry points.
fn validated(what: &str, source: &str, entries: &[&str]) -> naga::Module {
    validated_with(what, source, entries, naga::valid::Capabilities::empty())
}

/// As [`validated`], with `capabilities` (f32 atomics for the sparse gradient's native adds).
fn validated_with(
    what: &str,
    source: &str,
    entries: &[&str],
    capabilities: naga::valid::Capabilities,
) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{what} does not parse:\n{}", e.emit_to_string(source)));
    let mut validator =
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities);
    if let Err(e) = validator.validate(&module) {
        panic!("{what} fails validation:\n{}", e.emit_to_string(source));
    }
    for entry in entries {
        assert!(
            module.entry_points.iter().any(|ep| ep.name == *entry),
            "{what} has no entry point named {entry}"
        );
    }
    module
}

/// Shapes (features, outputs) every shaped kernel is validated at: the row work unrolled
/// (src/gpu/unroll.rs) for all but 300 × 3, which takes shaders/row_loops.wgsl.
const SHAPES: [(usize, usize); 5] = [(1, 1), (16, 1), (128, 1), (7, 3), (300, 3)];

#[test]
fn every_shader_validates() {
    for kernel in Kernel::ALL {
        let shapes: &[(usize, usize)] = if kernel.is_shaped() {
            &SHAPES
        } else {
            &[(4, 1)]
        };
        for &shape in shapes {
            validated(
                &format!("{}.wgsl at {shape:?}", kernel.name()),
                &kernel.source_for(shape),
                &[kernel.name()],
            );
        }
    }
}

fn wgsl_struct_size(module: &naga::Module, name: &str) -> u32 {
    module
        .types
        .iter()
        .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
            (Some(n), naga::TypeInner::Struct { span, .. }) if n == name => Some(*span),
            _ => None,
        })
        .unwrap_or_else(|| panic!("struct {name} not found in shaders/common.wgsl"))
}

#[test]
fn host_and_wgsl_struct_sizes_agree() {
    let module = parse(Kernel::Update);
    assert_eq!(
        wgsl_struct_size(&module, "FitParams") as usize,
        std::mem::size_of::<FitParams>()
    );
    assert_eq!(
        wgsl_struct_size(&module, "StepParams") as usize,
        std::mem::size_of::<StepParams>()
    );
}

#[test]
fn block_kernel_validates_and_its_params_agree() {
    use gpu_regfit::gpu::block::{block_source, BlockParams};
    let module = validated(
        "block_rows.wgsl",
        &block_source(),
        &["block_rows", "block_reduce"],
    );
    assert_eq!(
        wgsl_struct_size(&module, "BlockParams") as usize,
        std::mem::size_of::<BlockParams>()
    );
}

#[test]
fn shader_table_names_match_files() {
    for kernel in Kernel::ALL {
        let path = format!(
            "{}/shaders/{}.wgsl",
            env!("CARGO_MANIFEST_DIR"),
            kernel.name()
        );
        assert!(std::path::Path::new(&path).is_file(), "missing {path}");
    }
}

#[test]
fn network_kernels_validate_and_their_params_agree() {
    use gpu_regfit::gpu::mlp::{MlpKernel, MlpParams};
    for kernel in MlpKernel::ALL {
        let what = format!("{}.wgsl", kernel.name());
        let module = validated(&what, &kernel.source(), &[kernel.name()]);
        assert!(std::path::Path::new(&format!(
            "{}/shaders/{}.wgsl",
            env!("CARGO_MANIFEST_DIR"),
            kernel.name()
        ))
        .exists());
        assert_eq!(
            wgsl_struct_size(&module, "MlpParams") as usize,
            std::mem::size_of::<MlpParams>()
        );
    }
}

#[test]
fn sparse_kernels_validate_and_their_params_agree() {
    use gpu_regfit::gpu::sparse::{SparseKernel, SparseParams};
    for kernel in SparseKernel::ALL {
        // Without float atomics: the compare-exchange loop is core WGSL.
        let module = validated(
            &format!("{} (compare-exchange)", kernel.entry()),
            &kernel.source(false),
            &[kernel.entry()],
        );
        validated_with(
            &format!("{} (f32 atomics)", kernel.entry()),
            &kernel.source(true),
            &[kernel.entry()],
            naga::valid::Capabilities::SHADER_FLOAT32_ATOMIC,
        );
        assert_eq!(
            wgsl_struct_size(&module, "SparseParams") as usize,
            std::mem::size_of::<SparseParams>()
        );
    }
}
