use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use runtime::factory::{ExtensionFactory, Settings};
use runtime::{Extension, Host, Kind, Telemetry};

use super::{Factory, Htpasswd};

fn build(yaml: &str) -> Result<Arc<dyn Extension>, String> {
    let value = ::config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "extensions::basicauth")
        .map_err(|e| e.to_string())?;
    let set = Settings {
        id: ::config::ComponentId::parse("basicauth").unwrap(),
        kind: Kind::Extension,
        telemetry: Telemetry::default(),
    };
    Factory.create(set, &cfg)
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn check(
    ext: &Arc<dyn Extension>,
    authorization: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let mut h = HeaderMap::new();
    if let Some(a) = authorization {
        h.insert("authorization", a.parse().unwrap());
    }
    ext.server_authenticator()
        .expect("server")
        .authenticate(&h)
        .map_err(|e| e.0)
}

#[test]
fn config_errors_are_gos() {
    let err = build("{}").err().unwrap();
    assert!(err.contains("no credential source provided"), "{err}");
    let err = build("htpasswd: {inline: 'a:b'}\nclient_auth: {username: a, password: b}")
        .err()
        .unwrap();
    assert!(
        err.contains("only one of `htpasswd` or `client_auth` can be specified"),
        "{err}"
    );
}

#[tokio::test]
async fn inline_htpasswd_accepts_the_user_and_refuses_with_gos_messages() {
    let ext = build(
        "htpasswd:\n  inline: |\n    alice:wonderland\n    bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    )
    .unwrap();
    ext.start(&Host::default()).await.unwrap();
    let attrs = check(&ext, Some(&basic("alice", "wonderland"))).unwrap();
    assert!(attrs.contains(&("username".to_string(), "alice".to_string())));
    // {SHA} of "password".
    assert!(check(&ext, Some(&basic("bob", "password"))).is_ok());
    for (header, want) in [
        (Some(basic("alice", "nope")), "invalid credentials"),
        (Some(basic("carol", "wonderland")), "invalid credentials"),
        (None, "no basic auth provided"),
        (
            Some("Bearer x".to_string()),
            "invalid authorization scheme prefix",
        ),
        (
            Some("Basic !!!".to_string()),
            "invalid authorization format",
        ),
        (
            Some(format!("Basic {}", STANDARD.encode("nocolon"))),
            "invalid authorization format",
        ),
    ] {
        assert_eq!(
            check(&ext, header.as_deref()),
            Err(want.to_string()),
            "{header:?}"
        );
    }
    assert!(ext.client_authenticator().is_none());
}

#[tokio::test]
async fn htpasswd_file_is_read_at_start_and_inline_users_are_added() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("htpasswd");
    std::fs::write(&path, "# users\nfile-user:filepw\n").unwrap();
    let ext = build(&format!(
        "htpasswd:\n  file: {}\n  inline: 'inline-user:inlinepw'\n",
        path.display()
    ))
    .unwrap();
    ext.start(&Host::default()).await.unwrap();
    assert!(check(&ext, Some(&basic("file-user", "filepw"))).is_ok());
    assert!(check(&ext, Some(&basic("inline-user", "inlinepw"))).is_ok());
    assert!(check(&ext, Some(&basic("file-user", "inlinepw"))).is_err());

    let missing = build("htpasswd:\n  file: /nonexistent/htpasswd\n").unwrap();
    let err = missing.start(&Host::default()).await.unwrap_err();
    assert!(err.starts_with("open /nonexistent/htpasswd"), "{err}");
}

#[test]
fn htpasswd_ssha_and_unsupported_schemes() {
    // {SSHA}: base64(sha1("secret" + "salt") + "salt").
    let mut raw = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b"secretsalt")
        .as_ref()
        .to_vec();
    raw.extend_from_slice(b"salt");
    let h = Htpasswd::parse(&format!("u:{{SSHA}}{}", STANDARD.encode(raw))).unwrap();
    assert!(h.matches("u", "secret"));
    assert!(!h.matches("u", "secrets"));
    let err = Htpasswd::parse("u:$2y$05$abcdefghijklmnopqrstuv").unwrap_err();
    assert!(err.contains("not supported by ferrotel"), "{err}");
}

#[test]
fn client_sends_the_basic_header() {
    let ext = build("client_auth: {username: user, password: pw}").unwrap();
    let mut h = HeaderMap::new();
    ext.client_authenticator()
        .unwrap()
        .apply(&mut h, None)
        .unwrap();
    assert_eq!(
        h.get("authorization").unwrap().to_str().unwrap(),
        basic("user", "pw")
    );
    assert!(ext.server_authenticator().is_none());
    let err = build("client_auth: {username: 'a:b', password: pw}")
        .err()
        .unwrap();
    assert!(err.contains("invalid authorization format"), "{err}");
}
