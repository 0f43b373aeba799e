use std::sync::Arc;

use http::HeaderMap;
use pdata::ClientInfo;
use runtime::factory::{ExtensionFactory, Settings};
use runtime::{Extension, Kind, Telemetry};

use super::Factory;

fn build(yaml: &str) -> Result<Arc<dyn Extension>, String> {
    let value = ::config::Value::from_yaml_str(yaml).unwrap();
    let cfg = Factory
        .parse_config(&value, "extensions::headers_setter")
        .map_err(|e| e.to_string())?;
    let set = Settings {
        id: ::config::ComponentId::parse("headers_setter").unwrap(),
        kind: Kind::Extension,
        telemetry: Telemetry::default(),
    };
    Factory.create(set, &cfg)
}

fn apply(
    ext: &Arc<dyn Extension>,
    start: &[(&'static str, &str)],
    client: Option<&ClientInfo>,
) -> Result<HeaderMap, String> {
    let mut h = HeaderMap::new();
    for (k, v) in start {
        h.insert(*k, v.parse().unwrap());
    }
    ext.client_authenticator()
        .expect("client")
        .apply(&mut h, client)
        .map_err(|e| e.0)?;
    Ok(h)
}

#[test]
fn config_errors_are_gos() {
    for (yaml, want) in [
        ("{}", "missing headers configuration"),
        ("headers: [{value: a}]", "missing header name"),
        (
            "headers: [{key: a}]",
            "missing header source, must be 'from_context', 'from_attribute' or 'value'",
        ),
        (
            "headers: [{key: a, value: b, from_context: c}]",
            "invalid header source, must either 'from_context', 'from_attribute' or 'value'",
        ),
    ] {
        let err = build(yaml).err().expect(yaml);
        assert!(err.contains(want), "{yaml}: {err}");
    }
    assert!(build("headers: [{key: a, action: delete}]").is_ok());
    assert!(build("headers: [{key: a, value: b, action: replace}]").is_err());
}

#[test]
fn actions_insert_update_upsert_delete() {
    let ext = build(
        "headers:\n\
         - {key: ins, value: new, action: insert}\n\
         - {key: ins-absent, value: new, action: insert}\n\
         - {key: upd, value: new, action: update}\n\
         - {key: upd-absent, value: new, action: update}\n\
         - {key: ups, value: new}\n\
         - {key: del, action: delete}\n",
    )
    .unwrap();
    let h = apply(
        &ext,
        &[
            ("ins", "old"),
            ("upd", "old"),
            ("ups", "old"),
            ("del", "old"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(h.get("ins").unwrap(), "old");
    assert_eq!(h.get("ins-absent").unwrap(), "new");
    assert_eq!(h.get("upd").unwrap(), "new");
    assert!(h.get("upd-absent").is_none());
    assert_eq!(h.get("ups").unwrap(), "new");
    assert!(h.get("del").is_none());
}

#[test]
fn from_context_reads_request_metadata_with_default_and_ambiguity_error() {
    let ext = build(
        "headers:\n\
         - {key: X-Scope-OrgID, from_context: tenant, default_value: anonymous}\n\
         - {key: X-User, from_attribute: username}\n",
    )
    .unwrap();
    let mut info = ClientInfo::default();
    info.push("Tenant", "acme".into());
    info.auth.push(("username".into(), "alice".into()));
    let h = apply(&ext, &[], Some(&info)).unwrap();
    assert_eq!(h.get("x-scope-orgid").unwrap(), "acme");
    assert_eq!(h.get("x-user").unwrap(), "alice");

    let h = apply(&ext, &[], None).unwrap();
    assert_eq!(h.get("x-scope-orgid").unwrap(), "anonymous");
    assert_eq!(h.get("x-user").unwrap(), "");

    info.push("tenant", "other".into());
    let err = apply(&ext, &[], Some(&info)).unwrap_err();
    assert!(
        err.contains("2 source keys found in the context, can't determine which one to use"),
        "{err}"
    );
    assert!(ext.server_authenticator().is_none());
}
