//! The minibatch schedule shared by every solver: the seeded row order of each epoch, the batches
//! cut from it, and the learning rate of each step. Computed here once so the GPU solver and the
//! CPU reference see exactly the same batches.

use crate::config::FitConfig;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug)]
pub struct BatchPlan {
    pub n_rows: usize,
    pub batch_rows: usize,
    pub seed: u64,
    pub lr: f64,
    pub decay: f64,
    /// Full batch: every step sees all rows in their natural order (no shuffle needed).
    pub full_batch: bool,
}

/// One step: rows `order[start .. start + rows]` of the epoch's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    pub start: usize,
    pub rows: usize,
}

impl BatchPlan {
    pub fn new(cfg: &FitConfig, n_rows: usize) -> Self {
        let batch_rows = cfg.batch_size.rows(n_rows).min(n_rows);
        BatchPlan {
            n_rows,
            batch_rows,
            seed: cfg.seed,
            lr: cfg.lr,
            decay: cfg.decay,
            full_batch: batch_rows == n_rows,
        }
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.n_rows.div_ceil(self.batch_rows)
    }

    /// The row order of `epoch`: a ChaCha8 permutation on stream `epoch` of `seed`, so any epoch can
    /// be recomputed without replaying the ones before it.
    pub fn epoch_order(&self, epoch: usize) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.n_rows as u32).collect();
        if !self.full_batch {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            rng.set_stream(epoch as u64);
            order.shuffle(&mut rng);
        }
        order
    }

    /// The batches of one epoch; the last one holds the remainder (n mod batch) when there is one.
    pub fn batches(&self) -> impl Iterator<Item = Batch> + '_ {
        (0..self.steps_per_epoch()).map(move |s| {
            let start = s * self.batch_rows;
            Batch {
                start,
                rows: self.batch_rows.min(self.n_rows - start),
            }
        })
    }

    /// lr_t = lr / (1 + decay·t) for global step t (counted from 0).
    pub fn lr_at(&self, global_step: usize) -> f64 {
        self.lr / (1.0 + self.decay * global_step as f64)
    }
}
