use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use runtime::factory::{ExtensionFactory, Settings};
use runtime::{Extension, Host, Kind, Telemetry};

use super::Factory;

fn build(yaml: &str) -> Result<Arc<dyn Extension>, String> {
    let value = ::config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "extensions::bearertokenauth")
        .map_err(|e| e.to_string())?;
    let set = Settings {
        id: ::config::ComponentId::parse("bearertokenauth").unwrap(),
        kind: Kind::Extension,
        telemetry: Telemetry::default(),
    };
    Factory.create(set, &cfg)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

fn check(ext: &Arc<dyn Extension>, pairs: &[(&'static str, &str)]) -> Result<(), String> {
    let server = ext.server_authenticator().expect("server authenticator");
    server
        .authenticate(&headers(pairs))
        .map(drop)
        .map_err(|e| e.0)
}

#[test]
fn config_errors_are_gos() {
    for (yaml, want) in [
        ("{}", "no bearer token provided"),
        (
            "token: a\ntokens: [b]",
            "either tokens or token should be provided, not both",
        ),
    ] {
        let err = build(yaml).err().expect(yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
    assert!(build("filename: /x\ntoken: a").is_ok());
}

#[test]
fn server_accepts_the_token_and_refuses_wrong_or_missing_ones_with_gos_messages() {
    let ext = build("token: s3cret").unwrap();
    assert_eq!(check(&ext, &[("authorization", "Bearer s3cret")]), Ok(()));
    assert_eq!(
        check(&ext, &[("authorization", "Bearer other")]),
        Err("scheme or token does not match: Bearer other".into())
    );
    assert_eq!(
        check(&ext, &[("authorization", "s3cret")]),
        Err("scheme or token does not match: s3cret".into())
    );
    assert_eq!(
        check(&ext, &[]),
        Err("missing or empty authorization header: Authorization".into())
    );
}

#[test]
fn server_accepts_any_of_tokens_with_a_custom_scheme_and_header() {
    let ext = build("tokens: [a, b]\nscheme: Token\nheader: X-Api-Key").unwrap();
    assert_eq!(check(&ext, &[("x-api-key", "Token a")]), Ok(()));
    assert_eq!(check(&ext, &[("x-api-key", "Token b")]), Ok(()));
    assert!(check(&ext, &[("x-api-key", "Bearer a")]).is_err());
    assert_eq!(
        check(&ext, &[("authorization", "Token a")]),
        Err("missing or empty authorization header: X-Api-Key".into())
    );
    let bare = build("token: raw\nscheme: ''").unwrap();
    assert_eq!(check(&bare, &[("authorization", "raw")]), Ok(()));
}

#[test]
fn client_sets_the_header_with_the_first_token() {
    let ext = build("tokens: [first, second]\nheader: X-Key").unwrap();
    let client = ext.client_authenticator().expect("client authenticator");
    let mut h = HeaderMap::new();
    client.apply(&mut h, None).unwrap();
    assert_eq!(h.get("x-key").unwrap(), "Bearer first");
}

#[tokio::test]
async fn file_tokens_are_read_and_reloaded_when_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "one\n").unwrap();
    let ext = build(&format!("filename: {}", path.display())).unwrap();
    ext.start(&Host::default()).await.unwrap();
    assert_eq!(check(&ext, &[("authorization", "Bearer one")]), Ok(()));
    assert!(check(&ext, &[("authorization", "Bearer two")]).is_err());

    std::fs::write(&path, "two\nthree-longer\n").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while check(&ext, &[("authorization", "Bearer two")]).is_err() {
        assert!(std::time::Instant::now() < deadline, "file not reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        check(&ext, &[("authorization", "Bearer three-longer")]),
        Ok(())
    );
    assert!(check(&ext, &[("authorization", "Bearer one")]).is_err());
    ext.shutdown().await.unwrap();
}
