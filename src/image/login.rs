//! `bocker login`: credentials checked against the registry, then stored
//! (`auth` keeps them; `registry` is the client that checks them: this
//! module sits above both, so neither needs the other's other half).
use super::auth::{self, AuthError, Credentials};
use super::registry::{api_host, RegistryClient, RegistryError};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("login to {registry} failed: {source}")]
    Registry { registry: String, source: RegistryError },
    #[error(transparent)]
    Store(#[from] AuthError),
}

/// Verify `user`/`pass` against `registry` (as named in references) and
/// store them in `root/auth.json`.
pub fn login(root: &Path, registry: &str, user: &str, pass: &str) -> Result<(), LoginError> {
    let creds = check(registry, user, pass)?;
    auth::store_credentials(root, registry, &creds)?;
    Ok(())
}

/// Verify `user`/`pass` against `registry` only (the API's `POST /auth`:
/// the client keeps them, not the engine).
pub fn check(registry: &str, user: &str, pass: &str) -> Result<Credentials, LoginError> {
    let creds = Credentials::new(user, pass);
    let failed = |source| LoginError::Registry { registry: registry.into(), source };
    let client = RegistryClient::new(api_host(registry), "", Some(creds.clone())).map_err(failed)?;
    client.login_check().map_err(failed)?;
    Ok(creds)
}
