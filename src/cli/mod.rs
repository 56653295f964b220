//! The subcommands, one module each, and what several of them share: the stop flag, data
//! loading, the solver choice, output checks and the notes and warnings on stderr.

pub(crate) mod args;
pub(crate) mod bench;
pub(crate) mod compare;
pub(crate) mod convert;
pub(crate) mod cv;
pub(crate) mod devices;
pub(crate) mod fit;
pub(crate) mod gen;
pub(crate) mod path;
pub(crate) mod plot;
pub(crate) mod plot_regions;
pub(crate) mod predict;

use args::{DataArgs, DeviceArg, FormatArg};
use gpu_regfit::config::{FitConfig, Model, SolverKind};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::data::weights as sample_weights;
use gpu_regfit::data::{generate, labels, split, Dataset, LoadOptions};
use gpu_regfit::error::Error;
use gpu_regfit::fit::{FitResult, Fitted, Solver};
use gpu_regfit::gpu::{GpuOptions, GpuSolver};
use gpu_regfit::report::{self, ModelJson};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Set by the first Ctrl-C or SIGTERM: fits stop at their next log point and write their outputs.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// The training data (labels encoded for classifiers) and the validation set, if asked for.
pub(crate) fn load_data(
    args: &DataArgs,
    cfg: &FitConfig,
) -> Result<(Dataset, Option<Dataset>), Error> {
    let options = LoadOptions {
        format: args.format.map(FormatArg::format),
        target: args.target.as_deref(),
        target_file: args.target_file.as_deref(),
        text_target: cfg.model.is_classifier(),
        features: args.features,
        sparse: args.sparse_choice(),
    };
    let mut data = match &args.data {
        Some(path) => Dataset::load(path, &options)?,
        None => {
            if args.target.is_some() || args.target_file.is_some() {
                return Err(Error::invalid(
                    "target",
                    "given",
                    "--target and --target-file need --data",
                ));
            }
            if args.validation.is_some() {
                return Err(Error::invalid(
                    "validation",
                    "given",
                    "--validation needs --data",
                ));
            }
            builtin_data(cfg)?
        }
    };
    if let Some(name) = &args.sample_weight {
        sample_weights::take_weight_column(&mut data, name)?;
    }
    if let Some(path) = &args.sample_weight_file {
        let w = sample_weights::read_weight_file(path)?;
        data.set_weights(w, &path.display().to_string())?;
    }
    labels::encode(&mut data, cfg.model, args.max_classes)?;
    if let Some(cw) = &args.class_weight {
        sample_weights::apply_class_weight(&mut data, cw)?;
    }
    match (&args.validation, args.validation_fraction) {
        (Some(path), _) => {
            // A validation .npy has its own <stem>.target.npy; a LIBSVM one takes the training width.
            let val_options = LoadOptions {
                target_file: None,
                features: Some(data.n_features()),
                ..options
            };
            let mut val = Dataset::load(path, &val_options)?;
            if let Some(name) = &args.sample_weight {
                // The validation loss is unweighted: the column is dropped with its weights.
                sample_weights::take_weight_column(&mut val, name)?;
                val.weights = None;
            }
            match &data.classes {
                Some(classes) => labels::encode_with(&mut val, classes)?,
                None => labels::encode(&mut val, cfg.model, args.max_classes)?,
            }
            data.check_compatible(&val)?;
            Ok((data, Some(val)))
        }
        (None, Some(fraction)) => {
            let (train, mut val) = split::holdout(&data, fraction, cfg.seed)?;
            if data.weights.is_some() && train.weights.is_none() {
                return Err(Error::invalid(
                    "validation-fraction",
                    fraction,
                    "leaves no training row with a sample weight above 0",
                ));
            }
            // The validation loss is unweighted (as on the GPU, which keeps no validation weights).
            val.weights = None;
            Ok((train, Some(val)))
        }
        (None, None) => Ok((data, None)),
    }
}

/// The built-in problem of each model (used when no --data is given): for a network, the
/// walkthrough's spiral.
fn builtin_data(cfg: &FitConfig) -> Result<Dataset, Error> {
    if cfg.network.is_some() && cfg.model == Model::Softmax {
        let data = generate::spiral(&generate::SpiralSpec::WALKTHROUGH)?;
        return Ok(Dataset {
            source: format!("built-in: {}", data.source),
            ..data
        });
    }
    let data = match cfg.model {
        Model::Linear => generate::linear(&generate::LinearSpec::BUILTIN)?.0,
        Model::Logistic => generate::classification(&generate::ClassificationSpec::builtin(2))?.0,
        Model::Softmax => generate::classification(&generate::ClassificationSpec::builtin(3))?.0,
    };
    Ok(Dataset {
        source: format!("built-in: {}", data.source),
        ..data
    })
}

/// Opens the GPU solver, or for `auto` falls back to the CPU reference when there is no adapter.
pub(crate) fn make_solver(
    device: DeviceArg,
    adapter: Option<&str>,
    options: GpuOptions,
) -> Result<Box<dyn Solver>, Error> {
    match device {
        DeviceArg::Cpu => Ok(Box::new(CpuSolver::new())),
        DeviceArg::Gpu => Ok(Box::new(GpuSolver::new(adapter)?.with_options(options))),
        DeviceArg::Auto => match GpuSolver::new(adapter).map(|s| s.with_options(options)) {
            Ok(solver) => {
                if solver.context().adapter.is_software() {
                    eprintln!(
                        "note: no hardware GPU found; using the software adapter {}",
                        solver.device()
                    );
                }
                Ok(Box::new(solver))
            }
            Err(Error::NoAdapter) => {
                eprintln!(
                    "note: no GPU adapter found; using the CPU reference ({})",
                    gpu_regfit::error::INSTALL_HINT
                );
                Ok(Box::new(CpuSolver::new()))
            }
            Err(e) => Err(e),
        },
    }
}

pub(crate) fn warn_constant_columns(fitted: &Fitted, data: &Dataset) {
    if let Some(s) = &fitted.standardizer {
        let names = data.names();
        let constant = s.constant_columns(&names);
        if !constant.is_empty() {
            eprintln!(
                "warning: {} constant columns left at 0 by --standardize: {}",
                constant.len(),
                labels::preview(constant.iter(), 8)
            );
        }
    }
}

/// Checks a --plot or --out path: writable, ending in .png.
pub(crate) fn check_png(path: &Path) -> Result<(), Error> {
    report::check_writable(path)?;
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !png {
        return Err(Error::Format {
            path: path.into(),
            message: "a plot is written as PNG: the file name must end in .png".into(),
        });
    }
    Ok(())
}

/// Says on stderr that a run was interrupted, and which of the outputs asked for were written.
pub(crate) fn note_interrupted(r: &FitResult, outputs: &[&Option<PathBuf>]) {
    let files: Vec<String> = outputs
        .iter()
        .copied()
        .flatten()
        .map(|p| p.display().to_string())
        .collect();
    eprintln!(
        "interrupted at epoch {}, step {}{}",
        r.epochs_run,
        r.steps_run,
        if files.is_empty() {
            String::new()
        } else {
            format!("; wrote {}", files.join(", "))
        }
    );
}

/// apg's ConvergenceWarning: one line with the gap reached and the tolerance asked for (and a
/// note when the f64 host finished what an f32 device began).
pub(crate) fn warn_not_converged(model: &ModelJson) {
    if let Some(apg) = model.apg.filter(|a| a.host_iterations > 0) {
        eprintln!(
            "note: the last {} of {} iterations ran in f64 on the CPU: the device's f32 gradient \
             could not take the duality gap below --tol",
            apg.host_iterations, apg.iterations
        );
    }
    if model.solver == "apg" && model.converged == Some(false) && !model.interrupted {
        if let Some(rel) = model.relative_gap {
            eprintln!(
                "warning: apg stopped after {} iterations at relative duality gap {rel:.2e} > tol \
                 {:.0e}; raise --max-iter or --tol",
                model.epochs_run,
                model.config.fit.gap_tol()
            );
        }
    }
}

/// Records the chunking a streamed fit used in `cfg` (and says so on stderr).
pub(crate) fn note_streaming(chunk_rows: Option<usize>, cfg: &mut FitConfig) {
    if let Some(rows) = chunk_rows {
        let how = match cfg.solver {
            SolverKind::Sgd => "minibatches drawn within chunks, chunk order seeded",
            SolverKind::Apg => "every chunk in each iteration's full-batch gradient",
        };
        eprintln!(
            "note: the data exceeds the GPU memory budget; streamed in chunks of {rows} rows \
             ({how})"
        );
        cfg.chunk_rows = Some(rows);
    }
}
