//! `gpu_regfit._core`: the native layer of the Python package. Every function here turns numpy
//! arrays into a `Dataset`, calls the one Rust core (`fit`, `cv`, `distributed`) and returns
//! plain dicts of numpy arrays; the scikit-learn estimator contract lives in Python
//! (python/gpu_regfit/). Errors of the core become ValueError with the core's one-line message.

use gpu_regfit::apg::ApgOutcome;
use gpu_regfit::config::{FitConfig, SolverKind};
use gpu_regfit::cpu::CpuSolver;
use gpu_regfit::cv::{self, CvSpec, Folds, Scoring, Select};
use gpu_regfit::data::{Csr, Dataset, Label, Matrix};
use gpu_regfit::distributed::{self, Partition, Reduce, Request, Shape};
use gpu_regfit::error::{Error, INSTALL_HINT};
use gpu_regfit::fit::{fit as core_fit, FitResult, RunControl, Solver};
use gpu_regfit::gpu::{GpuContext, GpuSolver};
use gpu_regfit::path::LambdaGrid;
use gpu_regfit::weights::Weights;
use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

fn value_error(e: Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The GPU context, opened once per process and shared by every fit (opening a device costs
/// far more than a small fit). `GPU_REGFIT_ADAPTER` picks the adapter: a name substring, or
/// `#N` for the N-th (one GPU per Dask worker).
fn gpu_context() -> Result<Arc<GpuContext>, Error> {
    static CTX: OnceLock<Result<Arc<GpuContext>, String>> = OnceLock::new();
    let open = || {
        let wanted = std::env::var("GPU_REGFIT_ADAPTER")
            .ok()
            .filter(|v| !v.is_empty());
        GpuContext::new(wanted.as_deref())
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    match CTX.get_or_init(open) {
        Ok(ctx) => Ok(ctx.clone()),
        Err(e) if e == &Error::NoAdapter.to_string() => Err(Error::NoAdapter),
        Err(e) => Err(Error::gpu(e.clone())),
    }
}

/// The device for `device` ('auto' | 'gpu' | 'cpu'): `None` is the CPU reference. 'auto' takes
/// the CPU when there is no adapter.
fn device_context(device: &str) -> PyResult<Option<Arc<GpuContext>>> {
    match device {
        "cpu" => Ok(None),
        "gpu" => gpu_context().map(Some).map_err(|e| match e {
            Error::NoAdapter => PyValueError::new_err(format!(
                "device='gpu': no GPU adapter found ({INSTALL_HINT})"
            )),
            e => value_error(e),
        }),
        "auto" => match gpu_context() {
            Ok(ctx) => Ok(Some(ctx)),
            Err(Error::NoAdapter) => Ok(None),
            Err(e) => Err(value_error(e)),
        },
        other => Err(PyValueError::new_err(format!(
            "device={other:?}: expected 'auto', 'gpu' or 'cpu'"
        ))),
    }
}

fn solver_for(ctx: Option<Arc<GpuContext>>) -> Box<dyn Solver> {
    match ctx {
        Some(ctx) => Box::new(GpuSolver::with_context(ctx)),
        None => Box::new(CpuSolver::new()),
    }
}

/// X from Python: a C-contiguous float32 matrix, or a CSR as the tuple
/// (data float32, indices uint32, indptr uint64, n_cols).
fn matrix(x: &Bound<'_, PyAny>) -> PyResult<Matrix> {
    if let Ok(dense) = x.extract::<PyReadonlyArray2<f32>>() {
        return Ok(Matrix::from(
            dense.as_array().as_standard_layout().into_owned(),
        ));
    }
    let parts = x.cast::<PyTuple>().map_err(|_| {
        PyValueError::new_err(
            "X must be a float32 matrix or a CSR tuple (data, indices, indptr, n_cols)",
        )
    })?;
    let (data, indices, indptr, cols): (
        PyReadonlyArray1<f32>,
        PyReadonlyArray1<u32>,
        PyReadonlyArray1<u64>,
        usize,
    ) = parts.extract()?;
    let indptr = indptr.as_array().to_vec();
    let rows = indptr.len().saturating_sub(1);
    let csr = Csr::new(
        rows,
        cols,
        indptr,
        indices.as_array().to_vec(),
        data.as_array().to_vec(),
        Path::new("X"),
    )
    .map_err(value_error)?;
    Ok(Matrix::sparse(csr))
}

/// The dataset of one call: X, y (class indices 0..n_classes for classifiers), weights.
fn dataset(
    x: &Bound<'_, PyAny>,
    y: PyReadonlyArray1<f32>,
    sample_weight: Option<PyReadonlyArray1<f32>>,
    n_classes: usize,
) -> PyResult<Dataset> {
    let mut data =
        Dataset::from_matrix(matrix(x)?, y.as_array().to_owned(), "X").map_err(value_error)?;
    if n_classes > 0 {
        data.classes = Some((0..n_classes as i64).map(Label::Int).collect());
    }
    if let Some(w) = sample_weight {
        data.set_weights(w.as_array().to_vec(), "sample_weight")
            .map_err(value_error)?;
    }
    Ok(data)
}

/// The fit configuration: FitConfig's defaults (apg) with the fields of `config` (JSON, in the
/// core's serde names) over them.
fn config(json: &str) -> PyResult<FitConfig> {
    let base = FitConfig {
        solver: SolverKind::Apg,
        ..FitConfig::default()
    };
    let mut value =
        serde_json::to_value(&base).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let given: serde_json::Value =
        serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("config: {e}")))?;
    if let (Some(target), serde_json::Value::Object(fields)) = (value.as_object_mut(), given) {
        for (k, v) in fields {
            if !target.contains_key(&k) && k != "network" && k != "chunk_rows" {
                return Err(PyValueError::new_err(format!(
                    "config: unknown field {k:?}"
                )));
            }
            target.insert(k, v);
        }
    }
    serde_json::from_value(value).map_err(|e| PyValueError::new_err(format!("config: {e}")))
}

/// The dataset, configuration and device of one call.
fn inputs(
    x: &Bound<'_, PyAny>,
    y: PyReadonlyArray1<f32>,
    sample_weight: Option<PyReadonlyArray1<f32>>,
    n_classes: usize,
    config_json: &str,
    device: &str,
) -> PyResult<(Dataset, FitConfig, Option<Arc<GpuContext>>)> {
    Ok((
        dataset(x, y, sample_weight, n_classes)?,
        config(config_json)?,
        device_context(device)?,
    ))
}

fn coef_arrays<'py>(py: Python<'py>, w: &Weights, out: &Bound<'py, PyDict>) -> PyResult<()> {
    let (k, d) = (w.outputs, w.features);
    let mut coef = Array2::<f64>::zeros((k, d));
    for o in 0..k {
        coef.row_mut(o)
            .assign(&ndarray::ArrayView1::from(w.coef(o)));
    }
    out.set_item("coef", coef.into_pyarray(py))?;
    out.set_item("intercept", Array1::from(w.intercepts()).into_pyarray(py))?;
    Ok(())
}

/// What every fit returns: coef (K × d), intercept (K), and how the fit went.
fn result_dict<'py>(
    py: Python<'py>,
    weights: &Weights,
    r: &FitResult,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    if weights.is_network() {
        let json =
            serde_json::to_string(weights).map_err(|e| PyValueError::new_err(e.to_string()))?;
        out.set_item("network", json)?;
        // scikit-learn's MLP layout: coefs_[l] is inputs × outputs, intercepts_[l] outputs.
        let (coefs, intercepts) = (
            pyo3::types::PyList::empty(py),
            pyo3::types::PyList::empty(py),
        );
        for layer in weights.layers() {
            let stride = layer.stride();
            let at = |o: usize, i: usize| weights.values[layer.offset + o * stride + i];
            let w = Array2::from_shape_fn((layer.inputs, layer.outputs), |(i, o)| at(o, i));
            let b = Array1::from_shape_fn(layer.outputs, |o| at(o, layer.inputs));
            coefs.append(w.into_pyarray(py))?;
            intercepts.append(b.into_pyarray(py))?;
        }
        out.set_item("coefs", coefs)?;
        out.set_item("intercepts", intercepts)?;
    } else {
        coef_arrays(py, weights, &out)?;
    }
    out.set_item("n_iter", r.apg.map_or(r.epochs_run, |a| a.iterations))?;
    out.set_item("dual_gap", r.certificate.map(|c| c.gap))?;
    out.set_item("relative_gap", r.certificate.map(|c| c.relative))?;
    out.set_item("converged", r.converged)?;
    out.set_item("objective", r.objective.total)?;
    out.set_item("device", r.device.clone())?;
    out.set_item("seconds", r.seconds)?;
    out.set_item("stopped_early", r.stopped_early.clone())?;
    Ok(out)
}

/// Fits one model: `config` is a JSON object of FitConfig fields (apg by default).
#[pyfunction]
#[pyo3(signature = (x, y, sample_weight, n_classes, config_json, device))]
fn fit<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: PyReadonlyArray1<f32>,
    sample_weight: Option<PyReadonlyArray1<f32>>,
    n_classes: usize,
    config_json: &str,
    device: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let (data, cfg, ctx) = inputs(x, y, sample_weight, n_classes, config_json, device)?;
    let fitted = py
        .detach(move || {
            let mut solver = solver_for(ctx);
            core_fit(solver.as_mut(), &data, None, &cfg)
        })
        .map_err(value_error)?;
    result_dict(py, &fitted.weights, &fitted.result)
}

/// Cross-validates over a λ grid per l1 ratio on the given folds, then refits at the best λ.
#[pyfunction]
#[pyo3(signature = (x, y, sample_weight, n_classes, config_json, device, folds, l1_ratios, lambdas, n_lambdas, min_ratio, scoring))]
#[allow(clippy::too_many_arguments)]
fn cross_validate<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    y: PyReadonlyArray1<f32>,
    sample_weight: Option<PyReadonlyArray1<f32>>,
    n_classes: usize,
    config_json: &str,
    device: &str,
    folds: PyReadonlyArray1<u32>,
    l1_ratios: Vec<f64>,
    lambdas: Option<Vec<f64>>,
    n_lambdas: usize,
    min_ratio: Option<f64>,
    scoring: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let (data, cfg, ctx) = inputs(x, y, sample_weight, n_classes, config_json, device)?;
    let scoring = match scoring {
        None => None,
        Some("mse") => Some(Scoring::Mse),
        Some("deviance") => Some(Scoring::Deviance),
        Some("accuracy") => Some(Scoring::Accuracy),
        Some("auc") => Some(Scoring::Auc),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "scoring={other:?}: expected 'mse', 'deviance', 'accuracy' or 'auc'"
            )))
        }
    };
    let spec = CvSpec {
        folds: Folds::Given(folds.as_array().to_vec()),
        l1_ratios,
        grid: match lambdas {
            Some(l) => LambdaGrid::Given(l),
            None => LambdaGrid::Auto {
                n: n_lambdas,
                min_ratio,
            },
        },
        scoring,
        select: Select::Min,
        block: None,
    };
    let result = py
        .detach(move || {
            let mut solver = solver_for(ctx);
            cv::run(solver.as_mut(), &data, &cfg, &spec, None, None)
        })
        .map_err(value_error)?
        .ok_or_else(|| PyValueError::new_err("cross-validation was interrupted"))?;
    let out = result_dict(py, &result.refit.weights, &result.refit.result)?;
    out.set_item("lambda_min", result.lambda_min())?;
    out.set_item("l1_ratio_min", result.l1_ratio_min())?;
    out.set_item("lambda_1se", result.lambda_1se())?;
    out.set_item("best_curve", result.best.0)?;
    out.set_item("best_index", result.best.1)?;
    out.set_item("scoring", result.scoring.name())?;
    let curves = pyo3::types::PyList::empty(py);
    for c in &result.curves {
        let d = PyDict::new(py);
        d.set_item("l1_ratio", c.l1_ratio)?;
        d.set_item("lambda", c.lambda.clone())?;
        d.set_item("cv_mean", c.cv_mean.clone())?;
        d.set_item("cv_se", c.cv_se.clone())?;
        d.set_item("fold_scores", c.fold_scores.clone())?;
        d.set_item("not_converged", c.not_converged)?;
        curves.append(d)?;
    }
    out.set_item("curves", curves)?;
    Ok(out)
}

/// A network's logits (n × K) for X, from the weights JSON that `fit` returned.
#[pyfunction]
fn network_logits<'py>(
    py: Python<'py>,
    network_json: &str,
    x: PyReadonlyArray2<f32>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let w: Weights = serde_json::from_str(network_json)
        .map_err(|e| PyValueError::new_err(format!("network weights: {e}")))?;
    if !w.is_network() || x.as_array().ncols() != w.features {
        return Err(PyValueError::new_err(format!(
            "X has {} features, the network takes {}",
            x.as_array().ncols(),
            w.features
        )));
    }
    Ok(gpu_regfit::network::logits(&w, x.as_array()).into_pyarray(py))
}

/// A worker's rows, resident on its device between the rounds of a distributed fit.
#[pyclass(name = "Partition", module = "gpu_regfit._core")]
struct PyPartition {
    inner: Mutex<Partition>,
    n_rows: usize,
    mass: f64,
    is_f32: bool,
    device: String,
}

#[pymethods]
impl PyPartition {
    #[new]
    #[pyo3(signature = (x, y, sample_weight, n_classes, config_json, device))]
    fn new(
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: PyReadonlyArray1<f32>,
        sample_weight: Option<PyReadonlyArray1<f32>>,
        n_classes: usize,
        config_json: &str,
        device: &str,
    ) -> PyResult<Self> {
        let (data, cfg, ctx) = inputs(x, y, sample_weight, n_classes, config_json, device)?;
        let part = py
            .detach(move || Partition::new(data, &cfg, ctx))
            .map_err(value_error)?;
        Ok(PyPartition {
            n_rows: part.n_rows(),
            mass: part.mass(),
            is_f32: part.is_f32(),
            device: part.device().to_string(),
            inner: Mutex::new(part),
        })
    }

    /// The sums over this partition's rows that the encoded request asks for.
    fn answer<'py>(
        &self,
        py: Python<'py>,
        request: PyReadonlyArray1<f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let request = Request::decode(request.as_slice()?).map_err(value_error)?;
        let out = py
            .detach(|| {
                let mut part = self
                    .inner
                    .lock()
                    .map_err(|_| Error::gpu("a previous request on this partition failed"))?;
                part.answer(&request)
            })
            .map_err(value_error)?;
        Ok(out.into_pyarray(py))
    }

    #[getter]
    fn n_rows(&self) -> usize {
        self.n_rows
    }
    #[getter]
    fn mass(&self) -> f64 {
        self.mass
    }
    #[getter]
    fn is_f32(&self) -> bool {
        self.is_f32
    }
    #[getter]
    fn device(&self) -> String {
        self.device.clone()
    }
}

/// The client's side of a round: a Python callable that sends the encoded request to every
/// partition and returns the sum of their answers.
struct PyReduce<'py> {
    py: Python<'py>,
    round: Bound<'py, PyAny>,
}

impl Reduce for PyReduce<'_> {
    fn round(&self, request: &Request) -> gpu_regfit::error::Result<Vec<f64>> {
        let encoded = Array1::from(request.encode()).into_pyarray(self.py);
        let answer = self.round.call1((encoded,)).and_then(|a| {
            a.extract::<PyReadonlyArray1<f64>>()
                .map(|a| a.as_array().to_vec())
                .map_err(PyErr::from)
        });
        answer.map_err(|e| Error::gpu(format!("the reduction over the workers failed: {e}")))
    }
}

/// Runs apg over partitions through `round` (see gpu_regfit.dask).
#[pyfunction]
#[pyo3(signature = (round, rows, features, classes, mass, any_f32, config_json))]
#[allow(clippy::too_many_arguments)]
fn fit_distributed<'py>(
    py: Python<'py>,
    round: Bound<'py, PyAny>,
    rows: usize,
    features: usize,
    classes: usize,
    mass: f64,
    any_f32: bool,
    config_json: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = config(config_json)?;
    let reduce = PyReduce { py, round };
    let shape = Shape {
        rows,
        features,
        classes: classes.max(1),
        mass,
        f32: any_f32,
    };
    let out: ApgOutcome =
        distributed::fit(&reduce, shape, &cfg, &mut RunControl::default()).map_err(value_error)?;
    let d = PyDict::new(py);
    coef_arrays(py, &out.weights, &d)?;
    d.set_item("n_iter", out.report.iterations)?;
    d.set_item("dual_gap", out.certificate.map(|c| c.gap))?;
    d.set_item("relative_gap", out.certificate.map(|c| c.relative))?;
    d.set_item("converged", out.converged)?;
    d.set_item(
        "objective",
        out.certificate
            .map(|c| c.primal)
            .or_else(|| out.history.last().map(|h| h.loss)),
    )?;
    d.set_item("host_iterations", out.report.host_iterations)?;
    d.set_item("seconds", out.seconds)?;
    Ok(d)
}

/// The device 'auto' would use: the adapter's name, or "cpu".
#[pyfunction]
fn auto_device() -> PyResult<String> {
    Ok(match device_context("auto")? {
        Some(ctx) => ctx.adapter.label(),
        None => "cpu".to_string(),
    })
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(cross_validate, m)?)?;
    m.add_function(wrap_pyfunction!(network_logits, m)?)?;
    m.add_function(wrap_pyfunction!(fit_distributed, m)?)?;
    m.add_function(wrap_pyfunction!(auto_device, m)?)?;
    m.add_class::<PyPartition>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
