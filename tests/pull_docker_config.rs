//! Credentials from Docker's config.json (`$DOCKER_CONFIG/config.json`)
//! against an htpasswd registry. Alone in its own test binary because it
//! sets an environment variable.

#[path = "regsupport/mod.rs"]
mod common;

use bocker::image::auth::Credentials;
use bocker::image::PullOptions;
use common::*;

#[test]
fn pull_with_docker_config_json_credentials() {
    let imgs = Images::build();
    let reg = Registry::start(Some("bob:hunter2"));
    imgs.push(&reg, "bb", "team/bb:1", &[], Some("bob:hunter2"));
    let cfg = tempfile::tempdir().unwrap();
    let auth = Credentials::new("bob", "hunter2").encoded();
    std::fs::write(
        cfg.path().join("config.json"),
        format!(
            r#"{{"auths":{{"http://{}":{{"auth":"{auth}"}}}},"credsStore":"unused"}}"#,
            reg.host()
        ),
    )
    .unwrap();
    // the only test in this binary: no other thread reads the environment
    std::env::set_var("DOCKER_CONFIG", cfg.path());
    let root = tempfile::tempdir().unwrap();
    let (res, _) = pull_rec(
        root.path(),
        &reg.reference("team/bb:1"),
        &PullOptions::default(),
    );
    assert_eq!(res.unwrap().manifest_digest, imgs.digests["bb"]);
}
