//! The GPU engine of the apg solver (src/apg.rs drives it): full-batch gradients over every
//! shard with the fused gradient kernels, shaders/apg_update.wgsl for the step, and at gap checks
//! the loss, gradient and dual term at x copied into one staging buffer and read back once.

use super::{map_and_read, Cmd, GpuEngine, Source, Target};
use crate::apg::ApgEngine;
use crate::error::{Error, Result};
use crate::gap::DualPoint;
use crate::gpu::layout::{self, apg_slots, FitParams};
use crate::schedule::Batch;
use crate::weights::Weights;

impl GpuEngine<'_> {
    fn n_rows(&self) -> usize {
        self.data.n_rows()
    }

    /// Makes `epoch` (full batch: one batch, or one per streamed chunk) the gradient's rows.
    pub(crate) fn set_apg_epoch(&mut self, epoch: &crate::schedule::Epoch) -> Result<()> {
        use crate::fit::Engine;
        self.set_epoch(epoch)?;
        self.apg_batches = epoch.batches.clone();
        Ok(())
    }

    /// Records one full-batch gradient at the point in `weights` (a dispatch per shard, or per
    /// streamed chunk, each loaded in turn), with step `step` in the parameters; returns (shard,
    /// slot) of the last dispatch and the number of partial rows written.
    fn record_full_gradient(&mut self, step: f64) -> Result<(usize, u32, u32)> {
        let n = self.n_rows();
        let batches = std::mem::take(&mut self.apg_batches);
        // Every partial row of the gradient stays until the update sums them: the rows of each
        // piece follow the previous ones.
        let total: u32 = if self.stream.is_some() {
            batches.iter().map(|b| self.grad_workgroups(b.rows)).sum()
        } else {
            self.batch_pieces(&Batch { start: 0, rows: n });
            let pieces = std::mem::take(&mut self.step_pieces);
            let total = pieces.iter().map(|p| self.grad_workgroups(p.rows)).sum();
            self.step_pieces = pieces;
            total
        };
        let (mut base, mut last) = (0, None);
        for batch in &batches {
            // Streaming: this loads the batch's chunk (flushing what reads the slot first).
            self.batch_pieces(batch);
            let pieces = std::mem::take(&mut self.step_pieces);
            if self.slots_used + pieces.len() > super::MAX_STEP_SLOTS {
                self.flush();
            }
            for piece in &pieces {
                let slot = self.record_piece(piece, base, total, step, n);
                base += self.grad_workgroups(piece.rows);
                last = Some((piece.shard, slot));
            }
            self.step_pieces = pieces;
        }
        self.apg_batches = batches;
        let Some((shard, slot)) = last else {
            return Err(Error::gpu("internal: no rows for the full batch"));
        };
        Ok((shard, slot, total))
    }

    /// Queues `dispatch` over every part of the training rows (shard, or streamed chunk), each
    /// followed by the copy of its first `floats_per_group` × workgroups floats of scratch to the
    /// staging buffer from `offset`; returns each part's workgroups and the offset after the last.
    fn per_part_sums(
        &mut self,
        dispatch: fn(usize, u32) -> Cmd,
        floats_per_group: u64,
        offset: u64,
    ) -> (Vec<usize>, u64) {
        let mut groups = Vec::new();
        let mut offset = offset;
        self.for_each_train_part(|engine, shard| {
            let workgroups = engine.train[shard].loss_workgroups();
            engine.cmds.push(dispatch(shard, workgroups));
            let bytes = floats_per_group * workgroups as u64 * 4;
            engine.cmds.push(Cmd::Copy {
                from: Source::Scratch,
                from_offset: 0,
                to: Target::ApgStaging,
                to_offset: offset,
                bytes,
            });
            offset += bytes;
            groups.push(workgroups as usize);
        });
        (groups, offset)
    }

    /// Queues the copy of the first `partials` rows of gradient partials to the staging buffer.
    fn copy_partials(&mut self, partials: u32, to_offset: u64) -> u64 {
        let bytes = partials as u64 * self.width as u64 * 4;
        self.cmds.push(Cmd::Copy {
            from: Source::Scratch,
            from_offset: 0,
            to: Target::ApgStaging,
            to_offset,
            bytes,
        });
        bytes
    }

    /// Sums partial rows (each `width` floats) in f64 and divides by m.
    fn sum_partials(&self, values: &[f32], partials: u32) -> Vec<f64> {
        let mut g = vec![0.0f64; self.width];
        for row in values[..partials as usize * self.width].chunks_exact(self.width) {
            for (a, &v) in g.iter_mut().zip(row) {
                *a += v as f64;
            }
        }
        let m = self.n_rows() as f64;
        g.into_iter().map(|v| v / m).collect()
    }

    /// Sets the model code of every training shard (gram mode for the power iteration).
    fn set_model_code(&mut self, model: u32) {
        self.flush();
        for shard in &mut self.train {
            let fit = FitParams { model, ..shard.fit };
            shard.set_fit(self.ctx, fit);
        }
    }

    fn write_velocity(&mut self, at_float: usize, values: &[f32]) {
        self.flush();
        self.ctx.queue.write_buffer(
            &self.velocity,
            (at_float * 4) as u64,
            bytemuck::cast_slice(values),
        );
    }

    /// Puts y back into `weights` after a check left x there.
    fn restore_y(&mut self) {
        if self.weights_hold_x {
            let bytes = (self.width * 4) as u64;
            self.cmds.push(Cmd::Copy {
                from: Source::Velocity,
                from_offset: (apg_slots::saved_y(self.width) * 4) as u64,
                to: Target::Weights,
                to_offset: 0,
                bytes,
            });
            self.weights_hold_x = false;
        }
    }

    fn read_staging(&mut self, floats: usize) -> Result<Vec<f32>> {
        let Some(submission) = self.flush() else {
            return Err(Error::gpu("internal: nothing to read back"));
        };
        map_and_read(self.ctx, &self.apg_staging, (floats * 4) as u64, submission)
    }
}

impl ApgEngine for GpuEngine<'_> {
    fn is_f32(&self) -> bool {
        true
    }

    fn gram_times(&mut self, v: &[f64]) -> Result<Vec<f64>> {
        let stride = self.features + 1;
        let mut w = vec![0.0f32; self.width];
        for (a, &b) in w[..stride].iter_mut().zip(v) {
            *a = b as f32;
        }
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.weights, 0, bytemuck::cast_slice(&w));
        self.set_model_code(layout::MODEL_GRAM);
        let (_, _, partials) = self.record_full_gradient(0.0)?;
        self.copy_partials(partials, 0);
        let values = self.read_staging(partials as usize * self.width);
        self.set_model_code(layout::model_code(self.model));
        let g = self.sum_partials(&values?, partials);
        Ok(g[..stride].to_vec())
    }

    fn start(&mut self, w: &Weights) -> Result<()> {
        let x: Vec<f32> = w.values.iter().map(|&v| v as f32).collect();
        self.flush();
        self.ctx
            .queue
            .write_buffer(&self.weights, 0, bytemuck::cast_slice(&x));
        self.write_velocity(apg_slots::x(self.width), &x);
        self.write_velocity(apg_slots::state(self.width), &[1.0, 0.0, 0.0, 0.0]);
        self.weights_hold_x = false;
        self.ctx.check()
    }

    fn iterate(&mut self, iterations: usize, step: f64) -> Result<()> {
        self.restore_y();
        for _ in 0..iterations {
            let (shard, slot, _) = self.record_full_gradient(step)?;
            self.cmds.push(Cmd::ApgUpdate { shard, slot });
        }
        self.flush();
        self.ctx.check()
    }

    fn restart(&mut self) -> Result<()> {
        // y = x (whether or not a check left x in `weights`), t = 1.
        self.cmds.push(Cmd::Copy {
            from: Source::Velocity,
            from_offset: (apg_slots::x(self.width) * 4) as u64,
            to: Target::Weights,
            to_offset: 0,
            bytes: (self.width * 4) as u64,
        });
        self.weights_hold_x = false;
        self.write_velocity(apg_slots::state(self.width), &[1.0]);
        self.ctx.check()
    }

    fn evaluate(&mut self) -> Result<(Weights, f64, Weights)> {
        let width = self.width;
        let bytes = (width * 4) as u64;
        if !self.weights_hold_x {
            // Save y, then put x where the kernels read the weights.
            self.cmds.push(Cmd::Copy {
                from: Source::Weights,
                from_offset: 0,
                to: Target::Velocity,
                to_offset: (apg_slots::saved_y(width) * 4) as u64,
                bytes,
            });
            self.cmds.push(Cmd::Copy {
                from: Source::Velocity,
                from_offset: (apg_slots::x(width) * 4) as u64,
                to: Target::Weights,
                to_offset: 0,
                bytes,
            });
            self.weights_hold_x = true;
        }
        // Staging: x, the gradient partials at x, then each shard's loss partials.
        self.cmds.push(Cmd::Copy {
            from: Source::Velocity,
            from_offset: 0,
            to: Target::ApgStaging,
            to_offset: 0,
            bytes,
        });
        let (_, _, partials) = self.record_full_gradient(0.0)?;
        let partial_bytes = self.copy_partials(partials, bytes);
        let (loss_parts, offset) = self.per_part_sums(
            |shard, workgroups| Cmd::Loss {
                set: super::Set::Train,
                shard,
                workgroups,
            },
            2,
            bytes + partial_bytes,
        );
        let values = self.read_staging(offset as usize / 4)?;
        let x = Weights::from_values(
            self.outputs,
            self.features,
            values[..width].iter().map(|&v| v as f64).collect(),
        );
        let grad = Weights::from_values(
            self.outputs,
            self.features,
            self.sum_partials(&values[width..], partials),
        );
        let mut at = width + partials as usize * width;
        let mut loss = 0.0f64;
        for lw in loss_parts {
            loss += values[at..at + lw].iter().map(|&v| v as f64).sum::<f64>();
            at += 2 * lw;
        }
        Ok((x, loss / self.n_rows() as f64, grad))
    }

    fn dual_loss(&mut self, point: &DualPoint) -> Result<f64> {
        if !self.weights_hold_x {
            return Err(Error::gpu("internal: dual_loss before evaluate"));
        }
        let mut params = vec![
            (point.c * (1.0 - point.tau)) as f32,
            (point.c * point.tau) as f32,
            (1.0 - point.c) as f32,
            0.0,
        ];
        params.extend(point.q.iter().map(|&q| q as f32));
        self.write_velocity(apg_slots::dual(self.width), &params);
        let (_, offset) = self.per_part_sums(
            |shard, workgroups| Cmd::DualLoss { shard, workgroups },
            1,
            0,
        );
        let values = self.read_staging(offset as usize / 4)?;
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        Ok(sum / self.n_rows() as f64)
    }

    fn restarts(&mut self) -> Result<usize> {
        let at = apg_slots::state(self.width) + 1;
        self.cmds.push(Cmd::Copy {
            from: Source::Velocity,
            from_offset: (at * 4) as u64,
            to: Target::ApgStaging,
            to_offset: 0,
            bytes: 4,
        });
        let values = self.read_staging(1)?;
        Ok(values[0] as usize)
    }
}
