use super::*;
use crate::contexts::span::SpanContext;
use crate::syntax::{self, BoolExpr as B, CmpOp, MathOp, Value as V};

fn parse_err(stmt: &str) -> String {
    match log_parser().parse_statement(stmt) {
        Ok(_) => panic!("{stmt} should not parse"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn lexer_reads_go_literals() {
    let toks: Vec<_> = syntax::lex(r#"0x0a0B -1 +2 1.5 -.5 2e3 "a\tb\"c\u00e9\x41" true nil"#)
        .unwrap()
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    use syntax::Tok::*;
    assert_eq!(
        toks,
        vec![
            Bytes(vec![0x0a, 0x0b]),
            Int(-1),
            Int(2),
            Float(1.5),
            Float(-0.5),
            // Go's Float rule needs a dot: `2e3` is Int 2 then the identifier e3
            Int(2),
            Ident("e3".into()),
            Str("a\tb\"céA".into()),
            Bool(true),
            Nil,
            Eof
        ]
    );
}

#[test]
fn statement_syntax_tree() {
    let st = syntax::Parser::new(r#"set(attributes["a"][0]["b"], Split(body, ",")[1]) where not (x == 1 or y != 2) and IsMatch(name, "x")"#)
        .unwrap()
        .statement()
        .unwrap();
    assert_eq!(st.editor.name, "set");
    assert_eq!(st.editor.args.len(), 2);
    let V::Path(p) = &st.editor.args[0].value else {
        panic!()
    };
    assert_eq!(p.fields[0].keys.len(), 3);
    let V::Call(c) = &st.editor.args[1].value else {
        panic!()
    };
    assert_eq!(c.keys, vec![syntax::Key::Int(1)]);
    let Some(B::And(parts)) = st.condition else {
        panic!("{:?}", st.condition)
    };
    assert!(matches!(&parts[0], B::Not(inner) if matches!(**inner, B::Or(_))));
    assert!(matches!(&parts[1], B::Call(c) if c.name == "IsMatch"));
}

#[test]
fn math_precedence_and_parentheses() {
    let v = syntax::Parser::new("1 + 2 * 3")
        .unwrap()
        .value_expr()
        .unwrap();
    assert_eq!(
        v,
        V::Math(
            Box::new(V::Int(1)),
            MathOp::Add,
            Box::new(V::Math(
                Box::new(V::Int(2)),
                MathOp::Mul,
                Box::new(V::Int(3))
            ))
        )
    );
    assert_eq!(eval("1 + 2 * 3").unwrap(), Value::Int(7));
    assert_eq!(eval("(1 + 2) * 3").unwrap(), Value::Int(9));
    assert_eq!(eval("7 / 2").unwrap(), Value::Int(3));
    assert_eq!(eval("7.0 / 2.0").unwrap(), Value::Float(3.5));
    assert_eq!(
        eval("attributes[\"count\"] * 2 - 1").unwrap(),
        Value::Int(5)
    );
    assert_eq!(
        eval("10 - 2 - 3").unwrap(),
        Value::Int(5),
        "left associative"
    );
}

#[test]
fn comparisons_follow_go_rules() {
    let cases = [
        ("1 == 1.0", true),
        ("1 < 1.5", true),
        ("\"a\" < \"b\"", true),
        ("nil == nil", true),
        ("attributes[\"missing\"] == nil", true),
        ("attributes[\"count\"] == nil", false),
        ("1 == \"1\"", false),
        ("1 != \"1\"", true),
        ("1 < \"2\"", false),
        ("true > false", true),
        ("0x01 < 0x02", true),
        ("attributes[\"count\"] >= 3", true),
        ("attributes[\"ratio\"] == 1.5", true),
        ("severity_number >= SEVERITY_NUMBER_INFO", true),
        ("severity_number > SEVERITY_NUMBER_INFO4", false),
        ("Unix(1) < Unix(2)", true),
        ("Duration(\"1s\") == Duration(\"1000ms\")", true),
        ("attributes[\"tags\"] == [\"a\", \"b\"]", true),
        ("{\"a\": 1} == {\"a\": 1}", true),
        ("nil < 1", false),
        ("nil != 1", true),
    ];
    let p = log_parser();
    for (cond, want) in cases {
        let c = p.parse_condition(cond).unwrap_or_else(|e| panic!("{e}"));
        let mut rec = record();
        let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
        let data = LogData::new(&mut rec, &mut scope, &mut res);
        assert_eq!(c.eval(&data).unwrap(), want, "{cond}");
    }
}

#[test]
fn boolean_operators_precedence() {
    let p = log_parser();
    let cases = [
        ("true or false and false", true),
        ("(true or false) and false", false),
        ("not true or true", true),
        ("not (true or true)", false),
        ("not false and false", false),
        ("IsString(body) and not IsMap(body)", true),
    ];
    for (cond, want) in cases {
        let c = p.parse_condition(cond).unwrap_or_else(|e| panic!("{e}"));
        let mut rec = record();
        let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
        let data = LogData::new(&mut rec, &mut scope, &mut res);
        assert_eq!(c.eval(&data).unwrap(), want, "{cond}");
    }
    let _ = CmpOp::Eq;
}

#[test]
fn where_clause_gates_the_editor() {
    let mut rec = record();
    let ran = run(
        &mut rec,
        &[
            r#"set(attributes["warn"], true) where severity_number >= SEVERITY_NUMBER_WARN"#,
            r#"set(attributes["info"], true) where severity_number >= SEVERITY_NUMBER_INFO and severity_text == "INFO""#,
        ],
    )
    .unwrap();
    assert_eq!(ran, vec![false, true]);
    assert!(get(&rec.attributes, "warn").is_none());
    assert_eq!(get(&rec.attributes, "info"), Some(&b(true)));
}

#[test]
fn named_and_optional_arguments() {
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(target = attributes["x"], value = "y")"#,
            r#"truncate_all(attributes, 2, truncation_marker = "")"#,
            r#"replace_pattern(body, "user=(\\w+)", "user=$1", function = SHA256, replacementFormat = "u:%s")"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "x"), Some(&s("y")));
    assert_eq!(get(&rec.attributes, "http.method"), Some(&s("GE")));
}

#[test]
fn go_parser_rejections_name_the_statement_position_and_reason() {
    let cases = [
        (r#"unknown(attributes)"#, "undefined function \"unknown\""),
        (r#"set(attributes["a"])"#, "incorrect number of arguments"),
        (
            r#"set(attributes["a"], 1, 2)"#,
            "incorrect number of arguments",
        ),
        (r#"keep_keys(attributes, "a")"#, "must be a list of strings"),
        (r#"set("x", 1)"#, "must be a path"),
        (r#"limit(attributes, "2", [])"#, "must be an int"),
        (
            r#"set(attributes["a"], delete_key(attributes, "a"))"#,
            "converter names must start with an uppercase letter but got 'delete_key'",
        ),
        (
            r#"Concat(["a"], "")"#,
            "editor names must start with a lowercase letter but got 'Concat'",
        ),
        (r#"set(attributes_x["a"], 1)"#, "segment \"attributes_x\""),
        (r#"set(name, "x")"#, "segment \"name\""),
        (r#"set(attributes["a"], "oops)"#, "invalid input text"),
        (
            r#"set(attributes["a"], SEVERITY_NUMBER_NOPE)"#,
            "enum symbol, SEVERITY_NUMBER_NOPE, not found",
        ),
        (
            r#"set(attributes["a"], 1)["x"]"#,
            "only paths and converters may be indexed, not editors",
        ),
        (
            r#"delete_matching_keys(attributes, "(")"#,
            "error parsing regexp",
        ),
        (r#"set(attributes["a"], 1-1)"#, "unexpected token"),
        (
            r#"limit(target = attributes, 2, [])"#,
            "unnamed argument used after named argument",
        ),
        (
            r#"set(targett = attributes["a"], value = 1)"#,
            "no such parameter: targett",
        ),
        (
            r#"merge_maps(attributes, attributes, "merge")"#,
            "invalid value for strategy, merge",
        ),
        (
            r#"replace_all_patterns(attributes, "both", "a", "b")"#,
            "invalid mode both",
        ),
        (
            r#"ConvertCase(body, "kebab")"#,
            "editor names must start with a lowercase letter",
        ),
        (
            r#"set(attributes["a"], ConvertCase(body, "kebab"))"#,
            "invalid case: kebab",
        ),
        (
            r#"set(attributes["a"], ExtractPatterns(body, "(\\w+)"))"#,
            "at least 1 named capture group",
        ),
        (r#"set(attributes["a"], Concat("a", ""))"#, "must be a list"),
        (
            r#"replace_pattern(body, "a", "b", NOPE)"#,
            "undefined function NOPE",
        ),
        (
            r#"set(attributes["a"], IsRootSpan())"#,
            "IsRootSpan is not supported in the log context",
        ),
        (
            r#"set(attributes["a"], 1 + 1.0)"#,
            "unsupported math operation between int64 and float64",
        ),
        (r#"truncate_all(attributes, -1)"#, "cannot be negative"),
        (
            r#"set(attributes["a"], 1) where"#,
            "unexpected token \"<EOF>\"",
        ),
        (r#"set(severity_text["x"], "a")"#, "does not support keys"),
        (r#"set(attributes["a"], 0x0)"#, "odd length hex string"),
        // Go reads the count before the kinds
        (
            r#"set(attributes["a"], Concat("x"))"#,
            "incorrect number of arguments. Expected: 2 Received: 1",
        ),
        // one `not` per boolean value in Go's grammar
        (
            r#"set(attributes["a"], 1) where not not true"#,
            "unexpected token",
        ),
    ];
    for (stmt, want) in cases {
        let e = parse_err(stmt);
        assert!(e.contains(want), "{stmt}: {e}");
        assert!(
            e.starts_with(&format!("unable to parse OTTL statement {stmt:?}")),
            "{e}"
        );
    }
    // the position is the token's line:column
    let e = parse_err(r#"set(attributes["a"], nope(1))"#);
    assert!(e.contains("1:22"), "{e}");
    let e = parse_err(r#"set(attributes["a"], "oops)"#);
    assert!(e.contains("1:22"), "{e}");
}

#[test]
fn conditions_parse_standalone_and_reject_editors() {
    let p = log_parser();
    assert!(
        p.parse_condition(r#"attributes["a"] == "b" or IsMatch(body, "x")"#)
            .is_ok()
    );
    let e = p
        .parse_condition(r#"set(attributes["a"], 1)"#)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("unable to parse OTTL condition"), "{e}");
    let e = p
        .parse_condition("attributes[\"a\"]")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unexpected token"), "{e}");
}

#[test]
fn context_prefix_is_optional_and_checked() {
    let p = log_parser();
    assert!(
        p.parse_statement(r#"set(log.attributes["a"], log.body)"#)
            .is_ok()
    );
    assert!(
        p.parse_statement(r#"set(resource.attributes["a"], instrumentation_scope.name)"#)
            .is_ok()
    );
    assert!(
        p.parse_statement(r#"set(scope.attributes["a"], scope.version)"#)
            .is_ok()
    );
    let e = p
        .parse_statement(r#"set(span.attributes["a"], 1)"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("segment \"span\""), "{e}");
    let sp = Parser::<SpanContext>::new(crate::functions::standard());
    assert!(
        sp.parse_statement(r#"set(span.attributes["a"], span.name)"#)
            .is_ok()
    );
    let e = sp
        .parse_statement(r#"set(log.body, 1)"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Span context"), "{e}");
}

#[test]
fn dynamic_keys_from_paths_and_converters() {
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["key_name"], "dyn")"#,
            r#"set(attributes[attributes["key_name"]], attributes["tags"][Len(attributes["tags"]) - 1])"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "dyn"), Some(&s("b")));
}

#[test]
fn infer_context_picks_the_most_specific_prefix() {
    use crate::infer::{DEFAULT_PRIORITY, infer_context};
    let traces = ["spanevent", "span", "resource", "scope"];
    assert_eq!(
        infer_context(
            &[r#"set(span.name, resource.attributes["x"])"#],
            &[],
            &traces
        )
        .unwrap(),
        "span"
    );
    assert_eq!(
        infer_context(&[r#"set(resource.attributes["x"], "y")"#], &[], &traces).unwrap(),
        "resource"
    );
    assert_eq!(
        infer_context(
            &[r#"set(span.name, "a")"#, r#"set(spanevent.name, "b")"#],
            &[],
            &traces
        )
        .unwrap(),
        "spanevent"
    );
    assert_eq!(
        infer_context(
            &[r#"set(log.body, "a")"#],
            &[r#"resource.attributes["a"] != nil"#],
            DEFAULT_PRIORITY
        )
        .unwrap(),
        "log"
    );
    assert_eq!(
        infer_context(
            &[r#"set(instrumentation_scope.name, "a")"#],
            &[],
            DEFAULT_PRIORITY
        )
        .unwrap(),
        "scope"
    );
    assert!(infer_context(&[r#"set(attributes["a"], 1)"#], &[], &traces).is_err());
    assert!(infer_context(&[r#"set(log.body, span.name)"#], &[], DEFAULT_PRIORITY).is_err());
}

#[test]
fn parsing_never_panics_on_odd_input() {
    let p = log_parser();
    for src in [
        "",
        "(",
        ")",
        "set(",
        "set(]",
        "[",
        "{",
        "\"",
        "\\",
        "0x",
        "where",
        "set() where (",
        "a.b.c[",
        "set(attributes[\"a\"], [1,,2])",
        "set(attributes[\"a\"], {\"a\" 1})",
        "é",
        "set(a[9999999999999999999])",
        "set(attributes[\"a\"], \"\\x\")",
        "set(attributes[\"a\"], \"\\777\")",
        "not not not",
        "1 == 1 ==",
    ] {
        let _ = p.parse_statement(src);
        let _ = p.parse_condition(src);
        let _ = p.parse_value_expression(src);
    }
}
