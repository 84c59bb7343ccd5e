//! The Bearer token dance and redirects, against a tiny in-process fake
//! registry on 127.0.0.1 (docker-registry 2.8 cannot issue tokens itself).

use bocker::image::auth::Credentials;
use bocker::image::digest::Digest;
use bocker::image::pull::PullError;
use bocker::image::registry::RegistryError;
use bocker::image::{pull, PullOptions, Reference};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

struct Fake {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

struct Resp {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn layer() -> (Vec<u8>, Digest) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "hello.txt", &b"hello"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let diff = Digest::of_bytes(&tar);
    (gz.finish().unwrap(), diff)
}

impl Fake {
    /// `need_creds`: the token endpoint demands Basic alice:pw.
    fn start(need_creds: bool) -> Fake {
        Fake::start_with(need_creds, false)
    }

    /// `bad_diff`: the config's diff_id does not match the layer.
    fn start_with(need_creds: bool, bad_diff: bool) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (layer, diff) = layer();
        let diff = if bad_diff {
            Digest::of_bytes(b"something else")
        } else {
            diff
        };
        let layer_d = Digest::of_bytes(&layer);
        let config = format!(r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/hello"]}},"rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#).into_bytes();
        let config_d = Digest::of_bytes(&config);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_d}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{layer_d}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        )
        .into_bytes();
        let mut blobs: HashMap<String, Vec<u8>> = HashMap::new();
        blobs.insert(config_d.to_string(), config);
        blobs.insert(layer_d.to_string(), layer);
        let lg = log.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { continue };
                let r = handle(s, port, need_creds, &manifest, &blobs, &lg);
                let _ = r;
            }
        });
        Fake { port, log }
    }
}

fn handle(
    mut s: TcpStream,
    port: u16,
    need_creds: bool,
    manifest: &[u8],
    blobs: &HashMap<String, Vec<u8>>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut rd = BufReader::new(s.try_clone()?);
    let mut line = String::new();
    rd.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if rd.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = v.trim().to_string();
            }
        }
    }
    log.lock().unwrap().push(format!("{target} [{auth}]"));
    let challenge = format!(
        r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake",scope="repository:foo/bar:pull""#
    );
    let unauth = || Resp {
        status: "401 Unauthorized",
        headers: vec![("WWW-Authenticate".into(), challenge.clone())],
        body: b"{}".to_vec(),
    };
    let bearer_ok = auth == "Bearer tok123";
    let resp = if target.starts_with("/token") {
        let basic = format!("Basic {}", Credentials::new("alice", "pw").encoded());
        if need_creds && auth != basic {
            Resp {
                status: "401 Unauthorized",
                headers: vec![],
                body: b"{}".to_vec(),
            }
        } else if !target.contains("scope=repository%3Afoo%2Fbar%3Apull")
            && !target.contains("scope=repository:foo/bar:pull")
        {
            Resp {
                status: "400 Bad Request",
                headers: vec![],
                body: b"bad scope".to_vec(),
            }
        } else {
            Resp {
                status: "200 OK",
                headers: vec![],
                body: br#"{"token":"tok123"}"#.to_vec(),
            }
        }
    } else if target == "/v2/" {
        if bearer_ok {
            Resp {
                status: "200 OK",
                headers: vec![],
                body: b"{}".to_vec(),
            }
        } else {
            unauth()
        }
    } else if target == "/v2/foo/bar/manifests/latest" {
        if bearer_ok {
            Resp {
                status: "200 OK",
                headers: vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                body: manifest.to_vec(),
            }
        } else {
            unauth()
        }
    } else if let Some(d) = target.strip_prefix("/v2/foo/bar/blobs/") {
        if !bearer_ok {
            unauth()
        } else {
            // blobs live in "storage": redirect there, as real registries do
            Resp {
                status: "307 Temporary Redirect",
                headers: vec![(
                    "Location".into(),
                    format!("http://127.0.0.1:{port}/storage/{d}"),
                )],
                body: vec![],
            }
        }
    } else if let Some(d) = target.strip_prefix("/storage/") {
        match blobs.get(d) {
            Some(b) => Resp {
                status: "200 OK",
                headers: vec![],
                body: b.clone(),
            },
            None => Resp {
                status: "404 Not Found",
                headers: vec![],
                body: vec![],
            },
        }
    } else {
        Resp {
            status: "404 Not Found",
            headers: vec![],
            body: vec![],
        }
    };
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        resp.body.len()
    );
    for (k, v) in resp.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    s.write_all(out.as_bytes())?;
    s.write_all(&resp.body)?;
    s.flush()
}

#[test]
fn anonymous_bearer_token_and_redirected_blobs() {
    let f = Fake::start(false);
    let root = tempfile::tempdir().unwrap();
    let r = Reference::parse(&format!("127.0.0.1:{}/foo/bar", f.port)).unwrap();
    let img = pull(root.path(), &r, &PullOptions::default(), &|_| {}).unwrap();
    assert_eq!(img.config.cmd, Some(vec!["/hello".to_string()]));
    let hello = root
        .path()
        .join("layers")
        .join(&img.layers[0])
        .join("diff/hello.txt");
    assert_eq!(std::fs::read(hello).unwrap(), b"hello");
    let log = f.log.lock().unwrap();
    assert!(log.iter().any(|l| l.starts_with("/token")), "{log:?}");
    // blobs were fetched through the redirect
    assert_eq!(
        log.iter().filter(|l| l.starts_with("/storage/")).count(),
        2,
        "{log:?}"
    );
}

#[test]
fn bearer_token_with_credentials() {
    let f = Fake::start(true);
    let r = Reference::parse(&format!("127.0.0.1:{}/foo/bar:latest", f.port)).unwrap();
    let root = tempfile::tempdir().unwrap();
    let res = pull(root.path(), &r, &PullOptions::default(), &|_| {});
    assert!(
        matches!(
            res,
            Err(PullError::Registry(RegistryError::Unauthorized { .. }))
        ),
        "{res:?}"
    );
    let opts = PullOptions {
        credentials: Some(Credentials::new("alice", "pw")),
        ..Default::default()
    };
    pull(root.path(), &r, &opts, &|_| {}).unwrap();
    assert!(f
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("account=alice")));
}

#[test]
fn diff_id_mismatch_fails_and_leaves_no_layer() {
    let f = Fake::start_with(false, true);
    let r = Reference::parse(&format!("127.0.0.1:{}/foo/bar", f.port)).unwrap();
    let root = tempfile::tempdir().unwrap();
    let res = pull(root.path(), &r, &PullOptions::default(), &|_| {});
    assert!(
        matches!(res, Err(PullError::DiffIdMismatch { .. })),
        "{res:?}"
    );
    assert_eq!(
        std::fs::read_dir(root.path().join("layers"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(root.path().join("tmp")).unwrap().count(),
        0
    );
}
