//! The minibatch schedule shared by every solver: the seeded row order of each epoch, the batches
//! cut from it, and the learning rate of each step. Computed here once so the GPU solver and the
//! CPU reference see exactly the same batches.
//!
//! With `chunk_rows` set (the GPU solver sets it when it streams data larger than its memory
//! budget), the rows are split into consecutive chunks of that many rows; an epoch visits the
//! chunks in a seeded order, shuffles the rows within each chunk, and cuts batches inside a chunk
//! only, so that one chunk at a time needs to be on the device.

use crate::config::FitConfig;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

#[derive(Clone, Debug)]
pub struct BatchPlan {
    pub n_rows: usize,
    pub batch_rows: usize,
    pub seed: u64,
    pub lr: f64,
    pub decay: f64,
    /// Full batch: every step sees all rows in their natural order (no shuffle needed).
    pub full_batch: bool,
    /// Rows per chunk (`n_rows` when the data is not chunked).
    pub chunk_rows: usize,
}

/// One step: rows `order[start .. start + rows]` of the epoch's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    pub start: usize,
    pub rows: usize,
}

/// One epoch: the row order and the batches cut from it.
#[derive(Clone, Debug)]
pub struct Epoch {
    pub order: Vec<u32>,
    pub batches: Vec<Batch>,
    /// The chunks in the order the epoch visits them (one chunk `0` when not chunked).
    pub chunks: Vec<usize>,
}

impl BatchPlan {
    pub fn new(cfg: &FitConfig, n_rows: usize) -> Self {
        let batch_rows = cfg.batch_size.rows(n_rows).min(n_rows).max(1);
        let chunk_rows = cfg.chunk_rows.unwrap_or(n_rows).clamp(1, n_rows.max(1));
        BatchPlan {
            n_rows,
            batch_rows,
            seed: cfg.seed,
            lr: cfg.lr,
            decay: cfg.decay,
            full_batch: batch_rows == n_rows,
            chunk_rows,
        }
    }

    pub fn n_chunks(&self) -> usize {
        self.n_rows.div_ceil(self.chunk_rows)
    }

    /// Rows of chunk `c` (in the data's own order).
    pub fn chunk_range(&self, c: usize) -> Range<usize> {
        let start = c * self.chunk_rows;
        start..(start + self.chunk_rows).min(self.n_rows)
    }

    /// Steps per epoch: the same in every epoch (each chunk is cut into batches on its own).
    pub fn steps_per_epoch(&self) -> usize {
        (0..self.n_chunks())
            .map(|c| self.chunk_range(c).len().div_ceil(self.batch_rows))
            .sum()
    }

    /// Epoch `epoch`: a ChaCha8 stream `epoch` of `seed` shuffles the chunk order, then the rows of
    /// each chunk in turn, so any epoch can be recomputed without replaying the ones before it.
    /// Unchunked, this is one shuffle of all rows.
    pub fn epoch(&self, epoch: usize) -> Epoch {
        let mut chunks: Vec<usize> = (0..self.n_chunks()).collect();
        let mut order = Vec::with_capacity(self.n_rows);
        let mut batches = Vec::with_capacity(self.steps_per_epoch());
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(epoch as u64);
        let shuffle = !self.full_batch;
        if shuffle && chunks.len() > 1 {
            chunks.shuffle(&mut rng);
        }
        for &c in &chunks {
            let range = self.chunk_range(c);
            let first = order.len();
            order.extend(range.start as u32..range.end as u32);
            if shuffle {
                order[first..].shuffle(&mut rng);
            }
            let mut start = first;
            while start < order.len() {
                let rows = self.batch_rows.min(order.len() - start);
                batches.push(Batch { start, rows });
                start += rows;
            }
        }
        Epoch {
            order,
            batches,
            chunks,
        }
    }

    /// lr_t = lr / (1 + decay·t) for global step t (counted from 0).
    pub fn lr_at(&self, global_step: usize) -> f64 {
        self.lr / (1.0 + self.decay * global_step as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BatchSize;

    fn plan(n: usize, batch: usize, chunk: Option<usize>) -> BatchPlan {
        let cfg = FitConfig {
            batch_size: BatchSize::Rows(batch),
            chunk_rows: chunk,
            seed: 7,
            ..FitConfig::default()
        };
        BatchPlan::new(&cfg, n)
    }

    #[test]
    fn every_row_once_per_epoch_and_batches_stay_inside_chunks() {
        for (n, batch, chunk) in [(100, 7, None), (100, 7, Some(30)), (64, 64, Some(64))] {
            let p = plan(n, batch, chunk);
            for e in 0..3 {
                let epoch = p.epoch(e);
                let mut seen = epoch.order.clone();
                seen.sort_unstable();
                assert_eq!(seen, (0..n as u32).collect::<Vec<_>>());
                assert_eq!(epoch.batches.len(), p.steps_per_epoch());
                assert_eq!(epoch.batches.iter().map(|b| b.rows).sum::<usize>(), n);
                for b in &epoch.batches {
                    let rows = &epoch.order[b.start..b.start + b.rows];
                    let c = rows[0] as usize / p.chunk_rows;
                    assert!(rows.iter().all(|&r| r as usize / p.chunk_rows == c));
                }
            }
        }
    }

    #[test]
    fn chunk_order_is_seeded_and_changes_between_epochs() {
        let p = plan(1000, 10, Some(100));
        assert_eq!(p.epoch(3).order, p.epoch(3).order);
        assert_ne!(p.epoch(0).chunks, p.epoch(1).chunks);
        let mut chunks = p.epoch(0).chunks;
        chunks.sort_unstable();
        assert_eq!(chunks, (0..10).collect::<Vec<_>>());
    }
}
