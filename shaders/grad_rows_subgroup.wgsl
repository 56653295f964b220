// grad_rows with a subgroup reduction, built only when the adapter has Features::SUBGROUP: each
// subgroup adds its threads' sums with subgroupAdd and its first lane stores one row of wg_sums, so
// the final sum reads num_subgroups rows instead of WORKGROUP_SIZE. The subgroup width is read from
// the device, never assumed. Appended to grad_rows.wgsl (row_sums, write_partials, wg_sums).

@compute @workgroup_size(WORKGROUP_SIZE)
fn grad_rows_subgroup(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_invocation_id) lane: u32,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(num_subgroups) subgroups: u32,
) {
    let sums = row_sums(wid.x, lid);
    let width = fit.n_outputs * fit.stride;
    for (var k = 0u; k < width; k++) {
        let total = subgroupAdd(sums[k]);
        if (lane == 0u) {
            wg_sums[subgroup * NARROW_WIDTH + k] = total;
        }
    }
    workgroupBarrier();
    write_partials(wid.x, lid, subgroups);
}
