//! The `gpu-regfit` command line: parse flags into a validated config, run, map errors to exit
//! codes (2 bad input, 3 diverged, 4 device failure, 1 other). anyhow is used only in this binary.

mod cli;

use clap::{Parser, Subcommand};
use cli::bench::{run_bench, BenchCmd};
use cli::compare::{run_compare, CompareCmd};
use cli::convert::{run_convert, ConvertCmd};
use cli::cv::{run_cv, CvCmd};
use cli::devices::{run_devices, DevicesCmd};
use cli::fit::{run_fit, FitCmd};
use cli::gen::{run_gen_classification, run_gen_linear, run_gen_sparse, run_gen_spiral, GenCmd};
use cli::path::{run_path, PathCmd};
use cli::plot::{run_plot, PlotCmd};
use cli::plot_regions::{run_plot_regions, PlotRegionsCmd};
use cli::predict::{run_predict, PredictCmd};
use cli::STOP;
use gpu_regfit::error::Error;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

/// Exit status of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// How a command ended when it did not fail.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    Interrupted,
}

#[derive(Parser)]
#[command(
    name = "gpu-regfit",
    version,
    about = "L1/L2/elastic-net linear, logistic and softmax regression by minibatch gradient descent on any GPU (wgpu), checked against a CPU reference and the exact optimum"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a model and write it (model JSON, history CSV).
    Fit(FitCmd),
    /// Fit with the GPU solver and the CPU reference under one config, plus the exact optimum.
    Compare(CompareCmd),
    /// Solve the regularization path: one model per λ from λ_max down, each warm-started from
    /// the last (path.json, CSV, coefficient plot).
    Path(PathCmd),
    /// k-fold cross-validation along the path: cv.glmnet's mean ± se per λ, lambda_min and
    /// lambda_1se, then a model refitted on every row (cv.json, model file, plot).
    Cv(CvCmd),
    /// Apply a saved model to data: values, class labels, and with --proba class probabilities.
    Predict(PredictCmd),
    /// Generate synthetic data.
    #[command(subcommand)]
    Gen(GenCmd),
    /// List the GPU adapters wgpu can see.
    Devices(DevicesCmd),
    /// Convert CSV or LIBSVM data to .npy once (X to OUT.npy, y to OUT.target.npy), so large data
    /// is memory-mapped instead of parsed on every run.
    Convert(ConvertCmd),
    /// Time epochs on the GPU solver and the CPU reference over a matrix of sizes, with the
    /// device's copy bandwidth measured in the same run.
    Bench(BenchCmd),
    /// Draw the loss curves of a history CSV (from `fit --history` or `compare --history`) as PNG.
    Plot(PlotCmd),
    /// Draw the decision regions of a 2-feature classifier over its data (PNG).
    PlotRegions(PlotRegionsCmd),
}

/// Clap's error as one line: the message, and the usage hint folded in.
fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_string();
    let tip = lines.find(|l| l.starts_with("tip:"));
    match tip {
        Some(t) => format!("{first} ({t})"),
        None => format!("{first} (see --help)"),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            eprintln!("{}", clap_error_line(&e));
            return ExitCode::from(2);
        }
    };
    quiet_wsi_probe();
    // First signal: stop at the next log point and write the outputs; second: quit at once (no
    // output is ever half-written, so the old files stay whole).
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
        eprintln!(
            "\ninterrupt: stopping at the next log point and writing the outputs \
             (again to quit at once)"
        );
    });
    let done = |r: anyhow::Result<()>| r.map(|()| Outcome::Done);
    let result = match cli.command {
        Command::Fit(cmd) => run_fit(cmd),
        Command::Compare(cmd) => run_compare(cmd),
        Command::Path(cmd) => run_path(cmd),
        Command::Cv(cmd) => run_cv(cmd),
        Command::Predict(cmd) => done(run_predict(cmd)),
        Command::Gen(GenCmd::Linear(cmd)) => done(run_gen_linear(cmd)),
        Command::Gen(GenCmd::Spiral(cmd)) => done(run_gen_spiral(cmd)),
        Command::Gen(GenCmd::Classification(cmd)) => done(run_gen_classification(cmd)),
        Command::Gen(GenCmd::Sparse(cmd)) => done(run_gen_sparse(cmd)),
        Command::Devices(cmd) => done(run_devices(cmd)),
        Command::Convert(cmd) => done(run_convert(cmd)),
        Command::Bench(cmd) => run_bench(cmd),
        Command::Plot(cmd) => done(run_plot(cmd)),
        Command::PlotRegions(cmd) => run_plot_regions(cmd),
    };
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Err(e) => {
            let code = e.downcast_ref::<Error>().map(Error::exit_code).unwrap_or(1);
            eprintln!("error: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}

/// Mesa's Vulkan drivers probe Wayland at start-up, and libwayland prints `error: XDG_RUNTIME_DIR
/// is invalid or not set` on stderr when the variable is missing (a headless machine, a container,
/// CI). gpu-regfit draws nothing on screen, so it points the variable at a private empty folder:
/// the probe then finds no display and says nothing. Runs before any thread starts.
fn quiet_wsi_probe() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("gpu-regfit-runtime-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
    }
}
