use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value};

use super::*;

pub(crate) fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(Value::StringValue(v.into())),
    }
}
pub(crate) fn i(v: i64) -> AnyValue {
    AnyValue {
        value: Some(Value::IntValue(v)),
    }
}
pub(crate) fn d(v: f64) -> AnyValue {
    AnyValue {
        value: Some(Value::DoubleValue(v)),
    }
}
pub(crate) fn b(v: bool) -> AnyValue {
    AnyValue {
        value: Some(Value::BoolValue(v)),
    }
}
fn bytes(v: &[u8]) -> AnyValue {
    AnyValue {
        value: Some(Value::BytesValue(v.to_vec())),
    }
}
fn slice(values: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(Value::ArrayValue(ArrayValue { values })),
    }
}
fn map(entries: &[(&str, AnyValue)]) -> AnyValue {
    AnyValue {
        value: Some(Value::KvlistValue(KeyValueList {
            values: kvs(entries),
        })),
    }
}
fn empty() -> AnyValue {
    AnyValue { value: None }
}

pub(crate) fn kvs(entries: &[(&str, AnyValue)]) -> Vec<KeyValue> {
    entries
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.to_string(),
            value: Some(v.clone()),
            ..Default::default()
        })
        .collect()
}

/// The actions of a YAML list, as a processor's config gives them.
fn actions(yaml: &str) -> Result<AttrProc, String> {
    let value = ::config::Value::from_yaml_str(yaml).expect("test yaml");
    let cfg: Vec<ActionConfig> = ::config::decode(&value, "actions").map_err(|e| e.to_string())?;
    AttrProc::new(&cfg)
}

fn run(yaml: &str, attrs: &[(&str, AnyValue)]) -> Vec<KeyValue> {
    let proc = actions(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let mut attrs = kvs(attrs);
    proc.process(&mut attrs, &ClientInfo::default());
    attrs
}

#[test]
fn each_action_changes_attributes_as_go_does() {
    struct Case {
        name: &'static str,
        yaml: &'static str,
        input: Vec<(&'static str, AnyValue)>,
        want: Vec<(&'static str, AnyValue)>,
    }
    let cases = vec![
        Case {
            name: "insert adds a missing key",
            yaml: "- {key: a, value: x, action: insert}",
            input: vec![("b", i(1))],
            want: vec![("b", i(1)), ("a", s("x"))],
        },
        Case {
            name: "insert leaves an existing key",
            yaml: "- {key: a, value: x, action: insert}",
            input: vec![("a", i(1))],
            want: vec![("a", i(1))],
        },
        Case {
            name: "action names are case-insensitive",
            yaml: "- {key: a, value: x, action: INSERT}",
            input: vec![],
            want: vec![("a", s("x"))],
        },
        Case {
            name: "update changes an existing key in place",
            yaml: "- {key: a, value: 2, action: update}",
            input: vec![("a", s("1")), ("b", i(0))],
            want: vec![("a", i(2)), ("b", i(0))],
        },
        Case {
            name: "update ignores a missing key",
            yaml: "- {key: a, value: 2, action: update}",
            input: vec![("b", i(0))],
            want: vec![("b", i(0))],
        },
        Case {
            name: "upsert inserts",
            yaml: "- {key: a, value: 1.5, action: upsert}",
            input: vec![],
            want: vec![("a", d(1.5))],
        },
        Case {
            name: "upsert updates",
            yaml: "- {key: a, value: true, action: upsert}",
            input: vec![("a", i(1))],
            want: vec![("a", b(true))],
        },
        Case {
            name: "from_attribute copies any type",
            yaml: "- {key: a, from_attribute: m, action: upsert}",
            input: vec![("m", map(&[("k", i(1))]))],
            want: vec![("m", map(&[("k", i(1))])), ("a", map(&[("k", i(1))]))],
        },
        Case {
            name: "from_attribute missing does nothing",
            yaml: "- {key: a, from_attribute: nope, action: upsert}",
            input: vec![("a", i(1))],
            want: vec![("a", i(1))],
        },
        Case {
            name: "from_context metadata missing does nothing",
            yaml: "- {key: a, from_context: metadata.tenant, action: insert}",
            input: vec![],
            want: vec![],
        },
        Case {
            name: "from_context client.address without a client is empty",
            yaml: "- {key: a, from_context: client.address, action: insert}",
            input: vec![],
            want: vec![("a", s(""))],
        },
        Case {
            name: "delete removes the key, the last entry takes its place",
            yaml: "- {key: a, action: delete}",
            input: vec![("a", i(1)), ("b", i(2)), ("c", i(3))],
            want: vec![("c", i(3)), ("b", i(2))],
        },
        Case {
            name: "delete by unanchored pattern",
            yaml: "- {pattern: 'secret', action: delete}",
            input: vec![
                ("x.secret.y", i(1)),
                ("keep", i(2)),
                ("secret", i(3)),
                ("z", i(4)),
            ],
            // Removing "x.secret.y" moves "z" to the front; removing "secret" then leaves
            // "z", "keep".
            want: vec![("z", i(4)), ("keep", i(2))],
        },
        Case {
            name: "hash of a key that also matches the pattern hashes twice",
            yaml: "- {key: foo, pattern: '^foo$', action: hash}",
            input: vec![("foo", s("foo"))],
            // sha256 of the hex text of sha256("foo"), from `printf 2c26...e7ae | sha256sum`.
            want: vec![(
                "foo",
                s("505221025f9701f8a05cc22cbafeec897598b2924a9d665cbc10f0073d66da20"),
            )],
        },
        Case {
            name: "extract upserts named groups and keeps the source",
            yaml: r"- {key: url, pattern: '^/api/(?P<version>v\d+)/(?P<user>\w+)(?P<rest>/x)?', action: extract}",
            input: vec![("url", s("/api/v1/alice/y")), ("user", i(0))],
            want: vec![
                ("url", s("/api/v1/alice/y")),
                ("user", s("alice")),
                ("version", s("v1")),
                // A group that did not take part gives "".
                ("rest", s("")),
            ],
        },
        Case {
            name: "extract on a non-string does nothing",
            yaml: r"- {key: url, pattern: '(?P<n>\d)', action: extract}",
            input: vec![("url", i(5))],
            want: vec![("url", i(5))],
        },
        Case {
            name: "extract without a match does nothing",
            yaml: r"- {key: url, pattern: '^(?P<n>\d)$', action: extract}",
            input: vec![("url", s("x"))],
            want: vec![("url", s("x"))],
        },
        Case {
            name: "actions run in order",
            yaml: "- {key: a, value: 1, action: insert}\n- {key: b, from_attribute: a, action: insert}\n- {key: a, action: delete}",
            input: vec![],
            want: vec![("b", i(1))],
        },
    ];
    for c in cases {
        let got = run(c.yaml, &c.input);
        assert_eq!(got, kvs(&c.want), "{}", c.name);
    }
}

#[test]
fn value_keeps_its_yaml_type() {
    let got = run(
        "- {key: s, value: '200', action: insert}\n\
         - {key: i, value: 200, action: insert}\n\
         - {key: d, value: 2.5, action: insert}\n\
         - {key: b, value: false, action: insert}\n\
         - {key: l, value: [a, 1, null], action: insert}\n\
         - {key: m, value: {x: 1, y: [true]}, action: insert}\n\
         - {key: e, value: '', action: insert}",
        &[],
    );
    assert_eq!(
        got,
        kvs(&[
            ("s", s("200")),
            ("i", i(200)),
            ("d", d(2.5)),
            ("b", b(false)),
            ("l", slice(vec![s("a"), i(1), empty()])),
            ("m", map(&[("x", i(1)), ("y", slice(vec![b(true)]))])),
            ("e", s("")),
        ])
    );
}

#[test]
fn hash_matches_sha256_of_go_byte_encoding() {
    // Expected values from `printf ... | sha256sum` of the bytes Go hashes.
    let cases = [
        (
            s("foo"),
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        ),
        (
            s("héllo"),
            "3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179",
        ),
        // 123 as 8 bytes little-endian.
        (
            i(123),
            "4f319987a786107dc63b2b70115b3734cb9880b099b70c463c5e1b05521ab764",
        ),
        (
            i(-1),
            "12a3ae445661ce5dee78d0650d33362dec29c4f82af05e7e57fb595bbbacf0ca",
        ),
        // 1.5 = 0x3FF8000000000000, little-endian.
        (
            d(1.5),
            "e163f8cb0f7067a7fc78ca859a77f849aea3214f38fb75b884e4a16be725c905",
        ),
        (
            b(true),
            "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a",
        ),
        (
            b(false),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        ),
        // Go hashes only non-empty input: the empty string stays empty.
        (s(""), ""),
        (bytes(b"x"), ""),
        (map(&[("a", i(1))]), ""),
        (slice(vec![i(1)]), ""),
        (empty(), ""),
    ];
    for (input, want) in cases {
        let got = run(
            "- {key: k, action: hash}",
            &[("k", input.clone()), ("other", s("foo"))],
        );
        assert_eq!(
            got,
            kvs(&[("k", s(want)), ("other", s("foo"))]),
            "{input:?}"
        );
    }
}

#[test]
fn hash_by_pattern_hashes_every_matching_key() {
    let got = run(
        "- {pattern: '^user\\.', action: hash}",
        &[
            ("user.email", s("foo")),
            ("user.id", i(123)),
            ("x", s("foo")),
        ],
    );
    assert_eq!(
        got,
        kvs(&[
            (
                "user.email",
                s("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")
            ),
            (
                "user.id",
                s("4f319987a786107dc63b2b70115b3734cb9880b099b70c463c5e1b05521ab764")
            ),
            ("x", s("foo")),
        ])
    );
}

#[test]
fn convert_between_each_type_pair() {
    let cases: Vec<(&str, AnyValue, AnyValue)> = vec![
        // to int
        ("int", i(7), i(7)),
        ("int", d(2.9), i(2)),
        ("int", d(-2.9), i(-2)),
        ("int", d(f64::NAN), i(i64::MIN)),
        ("int", d(1e300), i(i64::MIN)),
        ("int", b(true), i(1)),
        ("int", b(false), i(0)),
        ("int", s("42"), i(42)),
        ("int", s("+42"), i(42)),
        ("int", s("-42"), i(-42)),
        ("int", s("4.2"), s("4.2")),
        ("int", s(" 42"), s(" 42")),
        ("int", s("9223372036854775808"), s("9223372036854775808")),
        ("int", map(&[]), map(&[])),
        ("int", empty(), empty()),
        // to double
        ("double", d(1.25), d(1.25)),
        ("double", i(3), d(3.0)),
        ("double", b(true), d(1.0)),
        ("double", b(false), d(0.0)),
        ("double", s("3.5"), d(3.5)),
        ("double", s("1e3"), d(1000.0)),
        ("double", s("-Inf"), d(f64::NEG_INFINITY)),
        ("double", s("1e400"), s("1e400")),
        ("double", s("abc"), s("abc")),
        ("double", slice(vec![]), slice(vec![])),
        // to string
        ("string", s("x"), s("x")),
        ("string", i(-5), s("-5")),
        ("string", d(1.5), s("1.5")),
        ("string", d(1e21), s("1e+21")),
        ("string", d(0.000_000_1), s("1e-7")),
        ("string", d(100.0), s("100")),
        ("string", d(f64::NAN), s("json: unsupported value: NaN")),
        ("string", b(true), s("true")),
        ("string", bytes(b"hi"), s("aGk=")),
        (
            "string",
            map(&[("b", i(1)), ("a", s("x"))]),
            s(r#"{"a":"x","b":1}"#),
        ),
        ("string", slice(vec![i(1), s("a")]), s(r#"[1,"a"]"#)),
        ("string", empty(), s("")),
    ];
    for (to, input, want) in cases {
        let yaml = format!("- {{key: k, converted_type: {to}, action: convert}}");
        let got = run(&yaml, &[("k", input.clone())]);
        assert_eq!(got, kvs(&[("k", want)]), "{input:?} to {to}");
    }
    // A missing key is left missing.
    assert!(run("- {key: k, converted_type: int, action: convert}", &[]).is_empty());
}

#[test]
fn from_context_reads_metadata_auth_and_address() {
    let client = ClientInfo {
        address: Some("10.1.2.3".into()),
        metadata: vec![("X-Tenant".into(), vec!["a".into(), "b".into()])],
        auth: vec![
            ("sub".into(), AuthValue::Str("me".into())),
            (
                "groups".into(),
                AuthValue::List(vec!["g1".into(), "g2".into()]),
            ),
            ("n".into(), AuthValue::Other),
        ],
    };
    let cases = [
        ("metadata.x-tenant", Some(s("a;b"))),
        ("x-tenant", Some(s("a;b"))),
        ("metadata.missing", None),
        ("auth.sub", Some(s("me"))),
        ("auth.groups", Some(s("g1;g2"))),
        ("auth.n", None),
        ("client.address", Some(s("10.1.2.3"))),
    ];
    for (key, want) in cases {
        let proc = actions(&format!(
            "- {{key: out, from_context: {key}, action: insert}}"
        ))
        .unwrap();
        let mut attrs = Vec::new();
        proc.process(&mut attrs, &client);
        assert_eq!(value::get(&attrs, "out").cloned(), want, "{key}");
    }
}

#[test]
fn invalid_actions_are_refused_with_go_texts() {
    let cases = [
        (
            "- {value: 1, action: insert}",
            r#"error creating AttrProc due to missing required field "key" at the 0-th actions"#,
        ),
        (
            "- {key: a, value: 1, action: insert}\n- {action: delete}",
            r#"error creating AttrProc due to missing required field (at least one of "key" and "pattern" have to be used) at the 1-th actions"#,
        ),
        (
            "- {pattern: x, action: hash, value: 1}",
            r#"error creating AttrProc. Action "hash" does not use "value" or "from_attribute" field. These must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, action: upsert}",
            r#"error creating AttrProc. Either field "value", "from_attribute" or "from_context" setting must be specified for 0-th action"#,
        ),
        (
            "- {key: a, value: 1, from_attribute: b, action: update}",
            r#"error creating AttrProc due to multiple value sources being set at the 0-th actions"#,
        ),
        (
            "- {key: a, value: 1, pattern: x, action: insert}",
            r#"error creating AttrProc. Action "insert" does not use the "pattern" field. This must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, value: 1, converted_type: int, action: upsert}",
            r#"error creating AttrProc. Action "upsert" does not use the "converted_type" field. This must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, converted_type: int, action: delete}",
            r#"error creating AttrProc. Action "delete" does not use the "converted_type" field. This must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, pattern: '(', action: delete}",
            r#"error creating AttrProc. Field "pattern" has invalid pattern: "(" to be set at the 0-th actions"#,
        ),
        (
            "- {key: a, from_attribute: b, pattern: '(?P<x>.)', action: extract}",
            r#"error creating AttrProc. Action "extract" does not use a value source field. These must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, action: extract}",
            r#"error creating AttrProc due to missing required field "pattern" for action "extract" at the 0-th action"#,
        ),
        (
            "- {key: a, pattern: '(?P<x>.)', converted_type: int, action: extract}",
            r#"error creating AttrProc. Action "extract" does not use the "converted_type" field. This must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, pattern: '[', action: extract}",
            r#"error creating AttrProc. Field "pattern" has invalid pattern: "[" to be set at the 0-th actions"#,
        ),
        (
            "- {key: a, pattern: 'abc', action: extract}",
            r#"error creating AttrProc. Field "pattern" contains no named matcher groups at the 0-th actions"#,
        ),
        (
            "- {key: a, pattern: '(?P<x>a)(b)', action: extract}",
            r#"error creating AttrProc. Field "pattern" contains at least one unnamed matcher group at the 0-th actions"#,
        ),
        (
            "- {key: a, value: 1, action: convert, converted_type: int}",
            r#"error creating AttrProc. Action "convert" does not use value sources or "pattern" field. These must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, pattern: x, action: convert, converted_type: int}",
            r#"error creating AttrProc. Action "convert" does not use value sources or "pattern" field. These must not be specified for 0-th action"#,
        ),
        (
            "- {key: a, action: convert}",
            r#"error creating AttrProc due to missing required field "converted_type" for action "convert" at the 0-th action"#,
        ),
        (
            "- {key: a, action: convert, converted_type: bool}",
            r#"error creating AttrProc due to invalid value "bool" in field "converted_type" for action "convert" at the 0-th action"#,
        ),
        (
            "- {key: a, value: 1, action: Rename}",
            r#"error creating AttrProc due to unsupported action "rename" at the 0-th actions"#,
        ),
        (
            "- {key: a, value: 1}",
            r#"error creating AttrProc due to unsupported action "" at the 0-th actions"#,
        ),
    ];
    for (yaml, want) in cases {
        match actions(yaml) {
            Ok(_) => panic!("accepted:\n{yaml}"),
            Err(e) => assert_eq!(e, want, "{yaml}"),
        }
    }
}

#[test]
fn null_value_counts_as_no_value_source() {
    let e = actions("- {key: a, value: null, action: insert}").unwrap_err();
    assert!(e.contains("Either field \"value\""), "{e}");
}

#[test]
fn unknown_action_key_is_refused() {
    let e = actions("- {key: a, value: 1, action: insert, bogus: 1}").unwrap_err();
    assert!(e.contains("has invalid keys: bogus"), "{e}");
}
