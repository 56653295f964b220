//! `devices`: list the GPU adapters wgpu can see.

use clap::Args;
use gpu_regfit::error::Error;
use gpu_regfit::gpu::list_adapters;

#[derive(Args)]
pub(crate) struct DevicesCmd {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run_devices(cmd: DevicesCmd) -> anyhow::Result<()> {
    let adapters = list_adapters();
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&adapters)?);
        return Ok(());
    }
    if adapters.is_empty() {
        return Err(Error::NoAdapter.into());
    }
    println!(
        "{:<44} {:<8} {:<14} {:>20} {:>16} {:>12}",
        "name", "backend", "type", "max storage binding", "max buffer", "f32 atomics"
    );
    for a in &adapters {
        println!(
            "{:<44} {:<8} {:<14} {:>20} {:>16} {:>12}",
            a.name,
            a.backend,
            a.device_type,
            a.max_storage_binding,
            a.max_buffer,
            if a.float_atomics { "yes" } else { "no" }
        );
    }
    Ok(())
}
