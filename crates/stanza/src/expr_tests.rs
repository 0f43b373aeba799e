use super::*;
use crate::map;

fn entry() -> Entry {
    let mut e = Entry::with_body("2024-01-02T03:04:05.123Z stdout F hello", 0);
    e.attributes
        .insert("log.file.path", "/var/log/pods/ns_pod_uid/c/0.log".into());
    e.attributes.insert("logtag", "F".into());
    e.attributes.insert("n", 5i64.into());
    e.attributes.insert("x", 2.5f64.into());
    e.attributes.insert("m", map! {"k" => "v"}.into());
    e.attributes
        .insert("l", Value::List(vec!["a".into(), 1i64.into()]));
    e.resource.insert("host", "h1".into());
    e
}

fn eval(src: &str) -> Result<Value, String> {
    Expr::compile(src)?.eval(&entry())
}

#[test]
fn evaluates_the_expr_lang_subset_stanza_configs_use() {
    let t = Value::Bool(true);
    let f = Value::Bool(false);
    let cases: &[(&str, Value)] = &[
        (r#"body matches "^\\d{4}-""#, t.clone()),
        (r#"body matches "^[^ Z]+Z""#, t.clone()),
        (r#"body matches "^[^ Z]+ ""#, f.clone()),
        (r#"body matches "^{.*}$""#, f.clone()),
        (r#"body not matches "^x""#, t.clone()),
        ("attributes.logtag == 'F'", t.clone()),
        ("attributes.logtag != 'F'", f.clone()),
        ("attributes['logtag'] == \"F\"", t.clone()),
        (
            r#"attributes["log.file.path"] contains "/pods/""#,
            t.clone(),
        ),
        ("attributes.missing == 'x'", f.clone()),
        ("attributes.missing == nil", t.clone()),
        ("attributes.missing ?? 'dflt'", "dflt".into()),
        ("attributes.logtag ?? 'dflt'", "F".into()),
        ("attributes.n > 3 and attributes.n < 10", t.clone()),
        ("attributes.n >= 5 && !(attributes.n > 5)", t.clone()),
        ("attributes.n == 5.0", t.clone()),
        ("attributes.x < attributes.n || false", t.clone()),
        ("not true or true", t.clone()),
        ("'F' in ['E', 'F']", t.clone()),
        ("'logtag' in attributes", t.clone()),
        ("'nope' not in attributes", t.clone()),
        ("attributes.m.k", "v".into()),
        ("attributes.l[0]", "a".into()),
        ("attributes.l[-1]", 1i64.into()),
        ("resource.host startsWith 'h'", t.clone()),
        ("resource.host endsWith '1'", t.clone()),
        ("attributes.n > 3 ? 'big' : 'small'", "big".into()),
        ("1 + 2 * 3", 7i64.into()),
        ("7 / 2", 3.5f64.into()),
        ("7 % 4", 3i64.into()),
        ("2 ** 3", 8.0f64.into()),
        ("-attributes.n", (-5i64).into()),
        ("'a' + 'b'", "ab".into()),
        ("len(attributes.logtag) == 1", t.clone()),
        ("lower('AbC') + upper('x')", "abcX".into()),
        ("trim('  x ')", "x".into()),
        ("hasPrefix(body, '2024')", t.clone()),
        ("hasSuffix(body, 'hello')", t.clone()),
        ("unknownVariable", Value::Nil),
        ("`raw\\n`", "raw\\n".into()),
        ("\"esc\\n\"", "esc\n".into()),
        ("{a: 1}.a", 1i64.into()),
        ("attributes?.missing?.deeper", Value::Nil),
    ];
    for (src, want) in cases {
        assert_eq!(
            &eval(src).unwrap_or_else(|e| panic!("{src}: {e}")),
            want,
            "{src}"
        );
    }
}

#[test]
fn env_reads_the_process_environment() {
    // SAFETY: tests in this crate do not read this variable concurrently.
    unsafe { std::env::set_var("STANZA_EXPR_TEST_VAR", "val") };
    assert_eq!(
        eval("env('STANZA_EXPR_TEST_VAR')").unwrap(),
        Value::from("val")
    );
    assert_eq!(
        eval("env('STANZA_EXPR_TEST_UNSET_VAR')").unwrap(),
        Value::from("")
    );
}

#[test]
fn runtime_errors_follow_expr_lang() {
    let errs = [
        (
            "attributes.missing.deeper",
            "cannot fetch deeper from <nil>",
        ),
        ("body.x", "cannot fetch x from string"),
        (
            "attributes.n matches 'x'",
            "invalid operation: int matches string",
        ),
        (
            "attributes.missing startsWith 'x'",
            "invalid operation: <nil> startsWith string",
        ),
        ("attributes.n < 'x'", "invalid operation: int < string"),
        (
            "attributes.l[5]",
            "index out of range: 5 (array length is 2)",
        ),
    ];
    for (src, want) in errs {
        assert_eq!(eval(src).unwrap_err(), want, "{src}");
    }
    let e = Expr::compile_bool("attributes.logtag").unwrap();
    assert_eq!(
        e.eval_bool(&entry()).unwrap_err(),
        "expected bool, but got string"
    );
}

#[test]
fn compile_errors_are_refused() {
    for src in [
        "body matches",
        "(1 + 2",
        "body matches '('",
        "foo(1)",
        "1 +",
        "'unterminated",
    ] {
        assert!(Expr::compile(src).is_err(), "{src}");
    }
    assert_eq!(
        Expr::compile_bool("'x'").unwrap_err(),
        "expected bool, but got string"
    );
}

#[test]
fn compile_errors_have_expr_lang_text_position_and_snippet() {
    // What otelcol-contrib 0.135 prints after "failed to compile expression '<src>': ".
    let cases = [
        (
            "body matches (",
            "unexpected token EOF (1:14)\n | body matches (\n | .............^",
        ),
        (
            "body ==",
            "unexpected token EOF (1:7)\n | body ==\n | ......^",
        ),
        ("(body", "unexpected token EOF (1:5)\n | (body\n | ....^"),
        ("1 +", "unexpected token EOF (1:3)\n | 1 +\n | ..^"),
        ("not", "unexpected token EOF (1:3)\n | not\n | ..^"),
        (
            "body and",
            "unexpected token EOF (1:8)\n | body and\n | .......^",
        ),
        (
            "attributes.x in",
            "unexpected token EOF (1:15)\n | attributes.x in\n | ..............^",
        ),
        (
            "attributes[\"a\"",
            "unexpected token EOF (1:14)\n | attributes[\"a\"\n | .............^",
        ),
        (
            "body == \"x",
            "literal not terminated (1:11)\n | body == \"x\n | ..........^",
        ),
        (
            "body === 1",
            "unexpected token Operator(\"=\") (1:8)\n | body === 1\n | .......^",
        ),
        (
            "body.x )",
            "unexpected token Bracket(\")\") (1:8)\n | body.x )\n | .......^",
        ),
        (
            "1 2",
            "unexpected token Number(\"2\") (1:3)\n | 1 2\n | ..^",
        ),
        (
            "body ~ 1",
            "unrecognized character: U+007E '~' (1:6)\n | body ~ 1\n | .....^",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(Expr::compile(src).err().as_deref(), Some(want), "{src}");
    }
}

#[test]
fn expr_strings_render_embedded_expressions() {
    let e = entry();
    let s = ExprString::parse("pre-EXPR(attributes.logtag)-mid-EXPR(resource.host + 'x')-post")
        .unwrap();
    assert_eq!(s.render(&e).unwrap(), "pre-F-mid-h1x-post");
    let s = ExprString::parse("EXPR(attributes.logtag)").unwrap();
    assert_eq!(s.render(&e).unwrap(), "F");
    let s = ExprString::parse("no expressions").unwrap();
    assert!(s.is_static());
    assert_eq!(s.render(&e).unwrap(), "no expressions");
    let s = ExprString::parse("EXPR(attributes.n)").unwrap();
    assert_eq!(
        s.render(&e).unwrap_err(),
        "render embedded expression: embedded expression returned non-string 5"
    );
    // No closing parenthesis: the remainder is literal text.
    let s = ExprString::parse("EXPR(oops").unwrap();
    assert_eq!(s.render(&e).unwrap(), "EXPR(oops");
}

/// `eval_bool` reads a `<field> matches "<literal>"` field straight from the entry: it answers
/// what the general evaluation answers, errors included, for the body, attributes and
/// resource keys in both spellings, and for fields that are missing or not strings.
#[test]
fn matches_on_a_field_answers_as_the_general_evaluation() {
    let sources = [
        r#"body matches "^[^ Z]+Z""#,
        r#"body matches "^\\{""#,
        r#"attributes.logtag matches "^F$""#,
        r#"attributes["log.file.path"] matches "/c/\\d+\\.log$""#,
        r#"attributes["log.file.path"] matches "^x""#,
        r#"resource.host matches "h\\d""#,
        r#"attributes.n matches "5""#,
        r#"attributes.missing matches "x""#,
        r#"attributes.m matches "k""#,
        r#"resource.missing matches "x""#,
    ];
    let mut bytes_body = entry();
    bytes_body.body = Value::Bytes(b"2024Z".to_vec());
    let mut map_body = entry();
    map_body.body = map! {"log" => "2024Z"}.into();
    let mut answers = Vec::new();
    for e in [entry(), bytes_body, map_body] {
        for src in sources {
            let expr = Expr::compile_bool(src).unwrap();
            let general = expr.root.eval(&e).and_then(|v| match v.view() {
                View::Bool(b) => Ok(b),
                other => Err(format!("expected bool, but got {}", other.type_name())),
            });
            let direct = expr.eval_bool(&e);
            assert_eq!(direct, general, "{src}");
            answers.push(direct);
        }
    }
    // Both answers and errors were compared.
    assert!(answers.contains(&Ok(true)) && answers.contains(&Ok(false)));
    assert!(answers.iter().any(Result::is_err));
}
