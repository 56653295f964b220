//! The validation holdout of `--validation-fraction`: seeded, and stratified for classifiers (each
//! class gives the same fraction of its rows, so a rare class is not lost from either side).

use super::Dataset;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Splits `data` into (train, validation) with round(fraction · rows) validation rows per class
/// (per dataset for regression). Row order within each part is the file's order.
pub fn holdout(data: &Dataset, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Error::invalid(
            "validation-fraction",
            fraction,
            "must lie strictly between 0 and 1",
        ));
    }
    let n = data.n_rows();
    // Groups of rows: one per class, or all rows for regression.
    let groups: Vec<Vec<usize>> = match &data.classes {
        Some(classes) => {
            let mut g = vec![Vec::new(); classes.len()];
            for (i, &y) in data.y.iter().enumerate() {
                g[y as usize].push(i);
            }
            g
        }
        None => vec![(0..n).collect()],
    };
    // A stream of its own, so the holdout never shares random numbers with the batch order.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let mut is_val = vec![false; n];
    for mut group in groups {
        group.shuffle(&mut rng);
        let take = (fraction * group.len() as f64).round() as usize;
        for &i in &group[..take.min(group.len())] {
            is_val[i] = true;
        }
    }
    let val_rows: Vec<usize> = (0..n).filter(|&i| is_val[i]).collect();
    let train_rows: Vec<usize> = (0..n).filter(|&i| !is_val[i]).collect();
    if val_rows.is_empty() || train_rows.is_empty() {
        return Err(Error::invalid(
            "validation-fraction",
            fraction,
            format!(
                "leaves {} training and {} validation rows of {n}",
                train_rows.len(),
                val_rows.len()
            ),
        ));
    }
    let mut val = data.select(&val_rows);
    val.source = format!(
        "{} (validation fraction {fraction}, seed {seed})",
        data.source
    );
    Ok((data.select(&train_rows), val))
}

/// Fold ids 0..k for k-fold cross-validation: rows shuffled with `seed`, then dealt to the folds
/// in turn; for classifiers class by class (stratified), so every fold gets each class in the
/// same proportion (± 1 row).
pub fn kfold(data: &Dataset, k: usize, seed: u64) -> Result<Vec<u32>> {
    let n = data.n_rows();
    if k < 2 || k > n {
        return Err(Error::invalid(
            "folds",
            k,
            format!("must lie between 2 and the number of rows ({n})"),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX - 1);
    order.shuffle(&mut rng);
    if data.classes.is_some() {
        // Stable by class: the shuffled order within each class, classes one after another,
        // so that dealing in turn stratifies.
        order.sort_by_key(|&i| data.y[i] as usize);
    }
    let mut folds = vec![0u32; n];
    for (j, &i) in order.iter().enumerate() {
        folds[i] = (j % k) as u32;
    }
    Ok(folds)
}

/// Fold ids as given (`--folds-file`): integers ≥ 0, renumbered 0..F in increasing order.
pub fn given_folds(values: &[f64], source: &str) -> Result<Vec<u32>> {
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0 && v.fract() == 0.0 && **v < 1e9))
    {
        return Err(Error::invalid(
            "folds-file",
            format!("{source}: entry {} is {v}", i + 1),
            "fold ids must be integers ≥ 0",
        ));
    }
    let mut ids: Vec<u64> = values.iter().map(|&v| v as u64).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(values
        .iter()
        .map(|&v| ids.binary_search(&(v as u64)).expect("listed") as u32)
        .collect())
}
