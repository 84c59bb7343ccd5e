//! `bocker.container.update(ref, limits)`: new limits for a container
//! (memory, memory_swap, memory_reservation, cpu_shares, cpus,
//! cpuset_cpus, pids_limit, restart); unknown keys are an error. Returns
//! the id, or nil and the error.
use super::convert::{result, spec, store};
use mlua::{Lua, Table, Value};

pub fn register(lua: &Lua, container: &Table) -> mlua::Result<()> {
    container.set(
        "update",
        lua.create_function(|lua, (reference, limits): (String, Value)| {
            let u: crate::container::update::UpdateSpec = spec(lua, "bocker.container.update", limits)?;
            let s = store(lua)?;
            result(lua, crate::container::update::update(&s, &reference, &u))
        })?,
    )
}
