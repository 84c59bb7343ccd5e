//! `bocker.serve_api(socket)` (the Docker Engine API, `crate::api`) and
//! what the router (lua/lib/api.lua) needs to find the route files.
use super::convert::result;
use mlua::{Lua, Table};

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    // serves until killed; nil, err when the socket cannot be had
    bocker.set("serve_api", lua.create_function(|lua, socket: Option<String>| {
        let path = std::path::PathBuf::from(socket.unwrap_or_else(|| crate::api::DEFAULT_SOCKET.into()));
        result(lua, crate::api::serve(&path).map(|()| true))
    })?)?;
    // the built-in areas, then the user's files (BOCKER_API, ~/.config/bocker/api)
    bocker.set("api_files", lua.create_function(|lua, ()| {
        let t = lua.create_table()?;
        t.set("builtin", super::builtin_api_areas())?;
        let mut user = Vec::new();
        for d in super::verbs::user_dirs_of("BOCKER_API", "api") {
            let Ok(rd) = std::fs::read_dir(&d) else { continue };
            let mut files: Vec<String> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "lua"))
                .map(|p| p.display().to_string())
                .collect();
            files.sort();
            user.extend(files);
        }
        t.set("user", user)?;
        Ok(t)
    })?)?;
    Ok(())
}
