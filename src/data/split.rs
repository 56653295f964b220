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
