//! The XML converters: every case of Go's `func_*_xml_test.go` tables and every README
//! example, through the OTTL parser; malformed XML and bad xpaths give errors.

use pdata::proto::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};

use super::*;

/// An OTTL string literal.
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn run(expr: &str) -> Result<Value, String> {
    let p = log_parser();
    let e = p.parse_value_expression(expr).map_err(|e| e.to_string())?;
    let mut rec = record();
    let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
    let data = LogData::new(&mut rec, &mut scope, &mut res);
    e.eval(&data).map_err(|e| e.to_string())
}

fn ok_str(expr: &str) -> String {
    match run(expr) {
        Ok(Value::Str(s)) => s,
        other => panic!("{expr}: {other:?}"),
    }
}

fn call(func: &str, args: &[&str]) -> String {
    let args: Vec<String> = args.iter().map(|a| lit(a)).collect();
    format!("{func}({})", args.join(", "))
}

/// (name, document, xpath, want)
type Case = (&'static str, &'static str, &'static str, &'static str);

#[test]
fn get_xml_go_table_and_readme() {
    let cases: &[Case] = &[
        ("get single element", "<a><b/></a>", "/a/b", "<b></b>"),
        (
            "get single complex element",
            r#"<a foo="bar"><b>hello</b></a>"#,
            "/a",
            r#"<a foo="bar"><b>hello</b></a>"#,
        ),
        (
            "get uniform elements from same parent",
            "<a><b>hello</b><b>world</b></a>",
            "/a/b",
            "<b>hello</b><b>world</b>",
        ),
        (
            "get nonuniform elements from same parent",
            "<a><b>hello</b><b><c>world</c></b><d/></a>",
            "/a/*",
            "<b>hello</b><b><c>world</c></b><d></d>",
        ),
        (
            "get elements from various places",
            "<a><x>1</x><b><x>2</x></b><d><e><f><x>3</x></f></e></d></a>",
            "/a//x",
            "<x>1</x><x>2</x><x>3</x>",
        ),
        (
            "get filtered elements from various places",
            r#"<a><x env="prod">1</x><b><x env="dev">2</x></b><d><e><f><x env="prod">3</x></f></e></d></a>"#,
            "/a//x[@env='prod']",
            r#"<x env="prod">1</x><x env="prod">3</x>"#,
        ),
        ("ignore empty", "", "/", ""),
        (
            "ignore declaration",
            r#"<?xml version="1.0" encoding="UTF-8"?><a></a>"#,
            "/*",
            "<a></a>",
        ),
        (
            "ignore comments",
            "<!-- comment --><a></a><!-- comment -->",
            "/*",
            "<a></a>",
        ),
        (
            "get attribute selection",
            r#"<a foo="bar"></a>"#,
            "/a/@foo",
            "bar",
        ),
        ("get text selection", "<a>hello</a>", "/a/text()", "hello"),
        (
            "get chardata selection",
            "<a><![CDATA[hello]]></a>",
            "/a/text()",
            "hello",
        ),
        // README examples
        (
            "readme /a",
            "<a>1</a><b/><a>2</a>",
            "/a",
            "<a>1</a><a>2</a>",
        ),
        (
            "readme //a",
            "<x><a>1</a><y><a>2</a></y></x>",
            "//a",
            "<a>1</a><a>2</a>",
        ),
        ("readme /a[1]", "<a>1</a><a>2</a>", "/a[1]", "<a>1</a>"),
        (
            "readme //a[@b='c']",
            r#"<x><a b="c">1</a><a b="d">2</a><y><a b="c">3</a></y></x>"#,
            "//a[@b='c']",
            r#"<a b="c">1</a><a b="c">3</a>"#,
        ),
        ("readme text", "<a>foo</a>", "/a/text()", "foo"),
        (
            "readme cdata",
            "<a><![CDATA[hello]]></a>",
            "/a/text()",
            "hello",
        ),
        ("readme attribute", r#"<a foo="bar"/>"#, "/a/@foo", "bar"),
        // escaping as html.EscapeString, text trimmed
        (
            "escaped output",
            r#"<a t="x &quot;y&quot;"> it&apos;s &lt;b&gt; &amp; c </a>"#,
            "/a",
            r#"<a t="x &#34;y&#34;">it&#39;s &lt;b&gt; &amp; c</a>"#,
        ),
        (
            "last() and position()",
            "<a><b>1</b><b>2</b><b>3</b></a>",
            "/a/b[last()]|/a/b[position()=1]",
            "<b>1</b><b>3</b>",
        ),
    ];
    for (name, doc, xpath, want) in cases {
        assert_eq!(
            ok_str(&call("GetXML", &[doc, xpath])),
            *want,
            "GetXML {name}"
        );
    }
}

#[test]
fn remove_xml_go_table_and_readme() {
    let cases: &[Case] = &[
        ("remove single element", "<a><b/></a>", "/a/b", "<a></a>"),
        (
            "remove multiple element",
            "<a><b/><b/></a>",
            "/a/b",
            "<a></a>",
        ),
        (
            "remove multiple element with children",
            "<a><b/><b><c/></b></a>",
            "/a/b",
            "<a></a>",
        ),
        (
            "remove multiple element various depths",
            "<a><b/><b/><c><b><d/></b></c></a>",
            "/a//b",
            "<a><c></c></a>",
        ),
        (
            "remove attribute",
            r#"<a foo="bar"/>"#,
            "/a/@foo",
            "<a></a>",
        ),
        (
            "remove element with attribute",
            r#"<a><b foo="bar"/><b foo="notbar"/></a>"#,
            "/a/b[@foo='bar']",
            r#"<a><b foo="notbar"></b></a>"#,
        ),
        (
            "remove attributes from multiple nodes",
            r#"<a><b foo="bar"/><c foo="bar"/></a>"#,
            "//@foo",
            "<a><b></b><c></c></a>",
        ),
        (
            "remove multiple attributes from single node",
            r#"<a><b foo="bar" hello="world" keep="this"/></a>"#,
            "//@*[local-name() != 'keep']",
            r#"<a><b keep="this"></b></a>"#,
        ),
        (
            "remove text",
            "<a>delete this</a>",
            "//text()['*delete*']",
            "<a></a>",
        ),
        (
            "remove comments",
            "<a><b><c><!-- delete this --></c><!-- this too--></b></a>",
            "//comment()",
            "<a><b><c></c></b></a>",
        ),
        (
            "remove CDATA",
            "<a><b><![CDATA[text content possibly containing literal <or &characters ]]></b></a>",
            "//text()['<![CDATA[*']",
            "<a><b></b></a>",
        ),
        (
            "preserve declaration",
            r#"<?xml version="1.0" encoding="UTF-8"?><a>delete this</a>"#,
            "//text()['*delete*']",
            r#"<?xml version="1.0" encoding="UTF-8"?><a></a>"#,
        ),
        ("ignore empty", "", "/", ""),
        // README: the Record whose Name has type="archive" goes; OutputXML trims the
        // indentation text and writes the declaration without the space before `?>`
        (
            "readme archive record",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<Log>\n  <Record>\n    <ID>00001</ID>\n    <Name type=\"archive\"></Name>\n    <Data>Some data</Data>\n  </Record>\n  <Record>\n    <ID>00002</ID>\n    <Name type=\"user\"></Name>\n    <Data>Some data</Data>\n  </Record>\n</Log>",
            "/Log/Record[./Name/@type=\"archive\"]",
            r#"<?xml version="1.0" encoding="UTF-8"?><Log><Record><ID>00002</ID><Name type="user"></Name><Data>Some data</Data></Record></Log>"#,
        ),
        (
            "readme /a/b",
            "<a><b>1</b><c/><b/></a>",
            "/a/b",
            "<a><c></c></a>",
        ),
        (
            "readme /a/b[@foo='bar']",
            r#"<a><b foo="bar"/><b foo="baz"/></a>"#,
            "/a/b[@foo='bar']",
            r#"<a><b foo="baz"></b></a>"#,
        ),
        (
            "readme contains",
            "<a><b>keep</b><c>this is sensitive</c></a>",
            "//*[contains(text(), 'sensitive')]",
            "<a><b>keep</b></a>",
        ),
        (
            "xml:space preserve keeps spaces",
            r#"<a xml:space="preserve"> x <b/></a>"#,
            "/a/b",
            r#"<a xml:space="preserve"> x </a>"#,
        ),
        (
            "prefixed attribute is not removed (xmlquery RemoveAttr by local name)",
            r#"<a xmlns:p="u" p:x="1" x="2"/>"#,
            "/a/@*[local-name()='x']",
            r#"<a xmlns:p="u" p:x="1"></a>"#,
        ),
    ];
    for (name, doc, xpath, want) in cases {
        assert_eq!(
            ok_str(&call("RemoveXML", &[doc, xpath])),
            *want,
            "RemoveXML {name}"
        );
    }
}

#[test]
fn insert_xml_go_table_and_readme() {
    // (name, document, xpath, subdocument, want)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "add single element",
            "<a></a>",
            "/a",
            "<b/>",
            "<a><b></b></a>",
        ),
        (
            "add single element to multiple matches",
            "<a></a><a></a>",
            "/a",
            "<b/>",
            "<a><b></b></a><a><b></b></a>",
        ),
        (
            "add single element at multiple levels",
            "<a></a><z><a></a></z>",
            "//a",
            "<b/>",
            "<a><b></b></a><z><a><b></b></a></z>",
        ),
        (
            "add multiple elements at root",
            "<a></a>",
            "/",
            "<b/><c/>",
            "<a></a><b></b><c></c>",
        ),
        (
            "add multiple elements to other element",
            "<a></a>",
            "/a",
            "<b/><c/>",
            "<a><b></b><c></c></a>",
        ),
        (
            "add multiple elements to multiple elements",
            "<a></a><a></a>",
            "/a",
            "<b/><c/>",
            "<a><b></b><c></c></a><a><b></b><c></c></a>",
        ),
        (
            "add multiple elements at multiple levels",
            "<a></a><z><a></a></z>",
            "//a",
            "<b/><c/>",
            "<a><b></b><c></c></a><z><a><b></b><c></c></a></z>",
        ),
        (
            "add rich doc",
            "<a></a>",
            "/a",
            r#"<x foo="bar"><b>text</b><c><d><e>1</e><e><![CDATA[two]]></e></d></c></x>"#,
            r#"<a><x foo="bar"><b>text</b><c><d><e>1</e><e><![CDATA[two]]></e></d></c></x></a>"#,
        ),
        (
            "add root element to empty document",
            "",
            "/",
            "<a/>",
            "<a></a>",
        ),
        (
            "add root element to non-empty document",
            "<a></a>",
            "/",
            "<a/>",
            "<a></a><a></a>",
        ),
        (
            "insert missing elements",
            "<a><b>has b</b></a><a></a><a><b>also has b</b></a>",
            "//a[not(b)]",
            "<b></b>",
            "<a><b>has b</b></a><a><b></b></a><a><b>also has b</b></a>",
        ),
        // README examples
        ("readme root", "<a/>", "/", "<foo/>", "<a></a><foo></foo>"),
        (
            "readme //foo",
            "<a><foo/><b><foo>x</foo></b></a>",
            "//foo",
            "<bar/>",
            "<a><foo><bar></bar></foo><b><foo>x<bar></bar></foo></b></a>",
        ),
        (
            "readme subdoc",
            "<subdoc></subdoc>",
            "/subdoc",
            "<x>1</x>",
            "<subdoc><x>1</x></subdoc>",
        ),
    ];
    for (name, doc, xpath, sub, want) in cases {
        assert_eq!(
            ok_str(&call("InsertXML", &[doc, xpath, sub])),
            *want,
            "InsertXML {name}"
        );
    }
    // README: the sub-document from an attribute (a path, not a literal)
    assert_eq!(
        ok_str(
            r#"InsertXML("<subdoc/>", "/subdoc", Concat(["<", attributes["http.method"], "/>"], ""))"#
        ),
        "<subdoc><GET></GET></subdoc>"
    );
    assert_eq!(
        run(&call(
            "InsertXML",
            &[r#"<a foo="bar"></a>"#, "/a/@foo", "<b/>"]
        ))
        .unwrap_err(),
        r#"InsertXML XPath selected non-element: "foo""#
    );
    assert_eq!(
        run(&call("InsertXML", &["<a>foo</a>", "/a/text()", "<b/>"])).unwrap_err(),
        r#"InsertXML XPath selected non-element: "foo""#
    );
}

#[test]
fn convert_attributes_to_elements_go_table_and_readme() {
    let cases: &[Case] = &[
        ("nop", "<a><b/></a>", "", "<a><b></b></a>"),
        (
            "nop declaration",
            r#"<?xml version="1.0" encoding="UTF-8"?><a><b/></a>"#,
            "",
            r#"<?xml version="1.0" encoding="UTF-8"?><a><b></b></a>"#,
        ),
        (
            "single attribute",
            r#"<a foo="bar"/>"#,
            "",
            "<a><foo>bar</foo></a>",
        ),
        (
            "multiple attributes - order 1",
            r#"<a foo="bar" hello="world"/>"#,
            "",
            "<a><foo>bar</foo><hello>world</hello></a>",
        ),
        (
            "multiple attributes - order 2",
            r#"<a hello="world" foo="bar"/>"#,
            "",
            "<a><hello>world</hello><foo>bar</foo></a>",
        ),
        (
            "with child elements",
            r#"<a hello="world" foo="bar"><b/><c/><b/></a>"#,
            "",
            "<a><b></b><c></c><b></b><hello>world</hello><foo>bar</foo></a>",
        ),
        (
            "with child value",
            r#"<a hello="world" foo="bar">free value</a>"#,
            "",
            "<a>free value<hello>world</hello><foo>bar</foo></a>",
        ),
        (
            "with child elements and values",
            r#"<a hello="world" foo="bar">free value<b/>2<c/></a>"#,
            "",
            "<a>free value<b></b>2<c></c><hello>world</hello><foo>bar</foo></a>",
        ),
        (
            "multiple levels",
            r#"<a hello="world" foo="bar"><b href="www.example.com"></b></a>"#,
            "",
            "<a><b><href>www.example.com</href></b><hello>world</hello><foo>bar</foo></a>",
        ),
        (
            "xpath filtered",
            r#"<a hello="world" foo="bar"><b href="www.example.com"></b></a>"#,
            "/a/b/@*",
            r#"<a hello="world" foo="bar"><b><href>www.example.com</href></b></a>"#,
        ),
        (
            "attributes found with non-attributes xpath",
            r#"<a hello="world" foo="bar"><b href="www.example.com"></b></a>"#,
            "/a/b",
            r#"<a hello="world" foo="bar"><b href="www.example.com"></b></a>"#,
        ),
        // README
        (
            "readme example",
            r#"<a foo="bar"><b>baz</b></a>"#,
            "",
            "<a><b>baz</b><foo>bar</foo></a>",
        ),
        (
            "readme /Log/Record",
            r#"<Log id="1"><Record n="2"/></Log>"#,
            "/Log/Record",
            r#"<Log id="1"><Record n="2"></Record></Log>"#,
        ),
        (
            "readme /Log/Record/@*",
            r#"<Log id="1"><Record n="2"/></Log>"#,
            "/Log/Record/@*",
            r#"<Log id="1"><Record><n>2</n></Record></Log>"#,
        ),
    ];
    for (name, doc, xpath, want) in cases {
        let expr = if xpath.is_empty() {
            call("ConvertAttributesToElementsXML", &[doc])
        } else {
            call("ConvertAttributesToElementsXML", &[doc, xpath])
        };
        assert_eq!(
            ok_str(&expr),
            *want,
            "ConvertAttributesToElementsXML {name}"
        );
    }
}

#[test]
fn convert_text_to_elements_go_table_and_readme() {
    // (name, document, xpath, elementName, want)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("nop", "<a><b/></a>", "", "", "<a><b></b></a>"),
        (
            "nop declaration",
            r#"<?xml version="1.0" encoding="UTF-8"?><a><b/></a>"#,
            "",
            "",
            r#"<?xml version="1.0" encoding="UTF-8"?><a><b></b></a>"#,
        ),
        (
            "nop attributes",
            r#"<a foo="bar" hello="world"/>"#,
            "",
            "",
            r#"<a foo="bar" hello="world"></a>"#,
        ),
        (
            "nop wrapped text",
            "<a>hello world</a>",
            "",
            "",
            "<a>hello world</a>",
        ),
        (
            "simple hanging",
            "<a><b/>foo</a>",
            "",
            "",
            "<a><b></b><value>foo</value></a>",
        ),
        (
            "simple hanging with tag name",
            "<a><b/>foo</a>",
            "",
            "bar",
            "<a><b></b><bar>foo</bar></a>",
        ),
        (
            "multiple hanging same level",
            "<a>foo<b/>bar</a>",
            "",
            "",
            "<a><value>foo</value><b></b><value>bar</value></a>",
        ),
        (
            "multiple hanging multiple levels",
            "<a>foo<b/>bar<c/>1<d>not</d>2<e><f/><f/></e></a>",
            "",
            "v",
            "<a><v>foo</v><b></b><v>bar</v><c></c><v>1</v><d>not</d><v>2</v><e><f></f><f></f></e></a>",
        ),
        (
            "xpath select some",
            "<a><b><c/>foo</b><d><c/>bar</d><b><c/>baz</b></a>",
            "/a/b",
            "",
            "<a><b><c></c><value>foo</value></b><d><c></c>bar</d><b><c></c><value>baz</value></b></a>",
        ),
        (
            "xpath with element name",
            "<a><b><c/>foo</b><d><c/>bar</d><b><c/>baz</b></a>",
            "/a/b",
            "V",
            "<a><b><c></c><V>foo</V></b><d><c></c>bar</d><b><c></c><V>baz</V></b></a>",
        ),
        // README
        (
            "readme example",
            "<a><b>foo</b>bar</a>",
            "",
            "",
            "<a><b>foo</b><value>bar</value></a>",
        ),
    ];
    for (name, doc, xpath, elem, want) in cases {
        let mut expr = format!("ConvertTextToElementsXML({}", lit(doc));
        if !xpath.is_empty() {
            expr.push_str(&format!(", xPath = {}", lit(xpath)));
        }
        if !elem.is_empty() {
            expr.push_str(&format!(", elementName = {}", lit(elem)));
        }
        expr.push(')');
        assert_eq!(ok_str(&expr), *want, "ConvertTextToElementsXML {name}");
    }
    // README: `ConvertTextToElementsXML(log.body, "/some/part/", "value")` -- a trailing `/`
    // is not an XPath location path; Go refuses it when the statement is parsed too
    assert!(
        log_parser()
            .parse_value_expression(&call(
                "ConvertTextToElementsXML",
                &["<a/>", "/some/part/", "value"]
            ))
            .is_err()
    );
    assert_eq!(
        ok_str(&call(
            "ConvertTextToElementsXML",
            &["<some><part>a<b/>c</part></some>", "/some/part", "value"]
        )),
        "<some><part><value>a</value><b></b><value>c</value></part></some>"
    );
}

fn sv(v: &str) -> AnyValue {
    s(v)
}

fn mv(items: Vec<KeyValue>) -> AnyValue {
    map(items)
}

fn lv(items: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values: items })),
    }
}

fn parse_map(func: &str, doc: &str) -> Vec<KeyValue> {
    match run(&call(func, &[doc])) {
        Ok(Value::Map(m)) => m,
        other => panic!("{func}({doc}): {other:?}"),
    }
}

#[test]
fn parse_simplified_xml_go_table_and_readme() {
    let cases: Vec<(&str, &str, Vec<KeyValue>)> = vec![
        ("single leaf", "<a>b</a>", vec![kv("a", sv("b"))]),
        (
            "double leaf",
            "<a>b</a><a>c</a>",
            vec![kv("a", lv(vec![sv("b"), sv("c")]))],
        ),
        (
            "nested maps",
            "<a><b>1</b></a>",
            vec![kv("a", mv(vec![kv("b", sv("1"))]))],
        ),
        (
            "mixed slice",
            "<a>1</a><a><![CDATA[2]]></a><a><b>3</b></a>",
            vec![kv(
                "a",
                lv(vec![sv("1"), sv("2"), mv(vec![kv("b", sv("3"))])]),
            )],
        ),
        (
            "char data leaf",
            "<a><![CDATA[b]]></a>",
            vec![kv("a", sv("b"))],
        ),
        (
            "ignore attributes",
            r#"<a foo="bar"><b hello="world">c</b></a>"#,
            vec![kv("a", mv(vec![kv("b", sv("c"))]))],
        ),
        (
            "ignore declaration",
            r#"<?xml version="1.0" encoding="UTF-8"?><a>b</a>"#,
            vec![kv("a", sv("b"))],
        ),
        (
            "ignore comments",
            "<a><!-- ignore -->b</a><!-- ignore -->",
            vec![kv("a", sv("b"))],
        ),
        (
            "ignore empty other than comment",
            "<a><b>2</b><c><!-- c is empty --></c></a>",
            vec![kv("a", mv(vec![kv("b", sv("2"))]))],
        ),
        (
            "empty other than comment forces slice",
            "<a><b>2</b><c>4</c><c><!-- this c is empty --></c></a>",
            vec![kv(
                "a",
                mv(vec![kv("b", sv("2")), kv("c", lv(vec![sv("4")]))]),
            )],
        ),
        (
            "ignore extraneous text",
            "<a>extra1<b>3</b>extra2</a>",
            vec![kv("a", mv(vec![kv("b", sv("3"))]))],
        ),
        (
            "ignore extraneous CDATA",
            "<a><![CDATA[1]]><b>3</b><![CDATA[2]]></a>",
            vec![kv("a", mv(vec![kv("b", sv("3"))]))],
        ),
        (
            "ignore single empty element",
            "<a><b>3</b><c/></a>",
            vec![kv("a", mv(vec![kv("b", sv("3"))]))],
        ),
        (
            "empty element cascade",
            "<a><b><c/></b><d>2</d></a>",
            vec![kv("a", mv(vec![kv("d", sv("2"))]))],
        ),
        (
            "empty element forces slice",
            "<a><b>3</b><b/></a>",
            vec![kv("a", mv(vec![kv("b", lv(vec![sv("3")]))]))],
        ),
        // README examples
        (
            "readme event",
            "<event>\n    <id>1</id>\n    <user>jane</user>\n    <details>\n      <time>2021-10-01T12:00:00Z</time>\n      <description>Something happened</description>\n      <cause>unknown</cause>\n    </details>\n</event>",
            vec![kv(
                "event",
                mv(vec![
                    kv("id", sv("1")),
                    kv("user", sv("jane")),
                    kv(
                        "details",
                        mv(vec![
                            kv("time", sv("2021-10-01T12:00:00Z")),
                            kv("description", sv("Something happened")),
                            kv("cause", sv("unknown")),
                        ]),
                    ),
                ]),
            )],
        ),
        (
            "readme unique children",
            "<x>\n  <y>1</y>\n  <z>2</z>\n</x>",
            vec![kv("x", mv(vec![kv("y", sv("1")), kv("z", sv("2"))]))],
        ),
        (
            "readme same tag",
            "<a>\n  <b>1</b>\n  <b>2</b>\n</a>",
            vec![kv("a", mv(vec![kv("b", lv(vec![sv("1"), sv("2")]))]))],
        ),
        (
            "readme cdata",
            "<a>\n  <b>1</b>\n  <b><![CDATA[2]]></b>\n</a>",
            vec![kv("a", mv(vec![kv("b", lv(vec![sv("1"), sv("2")]))]))],
        ),
        (
            "readme logic 4",
            "<a> <b>1</b> <c>2</c> <c>3</c> </a>",
            vec![kv(
                "a",
                mv(vec![kv("b", sv("1")), kv("c", lv(vec![sv("2"), sv("3")]))]),
            )],
        ),
        (
            "readme logic 5",
            "<a> <b>1</b> <b/> </a>",
            vec![kv("a", mv(vec![kv("b", lv(vec![sv("1")]))]))],
        ),
    ];
    for (name, doc, want) in cases {
        assert_eq!(
            parse_map("ParseSimplifiedXML", doc),
            want,
            "ParseSimplifiedXML {name}"
        );
    }
}

#[test]
fn parse_simplified_xml_windows_event_after_conversions() {
    // Go's "Simplified WEL" case: attributes become elements first, so the text left beside
    // them is then wrapped in <value>
    let wel = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-a5ba-3e3b0328c30d}"/><EventID>4625</EventID><Security /></System><EventData><Data Name="SubjectUserSid">S-1-0-0</Data><Data Name="Status">0xc000006d</Data></EventData></Event>"#;
    let expr = format!(
        "ParseSimplifiedXML(ConvertTextToElementsXML(ConvertAttributesToElementsXML({})))",
        lit(wel)
    );
    let got = match run(&expr) {
        Ok(Value::Map(m)) => m,
        other => panic!("{other:?}"),
    };
    let want = vec![kv(
        "Event",
        mv(vec![
            kv(
                "System",
                mv(vec![
                    kv(
                        "Provider",
                        mv(vec![
                            kv("Name", sv("Microsoft-Windows-Security-Auditing")),
                            kv("Guid", sv("{54849625-5478-4994-a5ba-3e3b0328c30d}")),
                        ]),
                    ),
                    kv("EventID", sv("4625")),
                ]),
            ),
            kv(
                "EventData",
                mv(vec![kv(
                    "Data",
                    lv(vec![
                        mv(vec![
                            kv("value", sv("S-1-0-0")),
                            kv("Name", sv("SubjectUserSid")),
                        ]),
                        mv(vec![
                            kv("value", sv("0xc000006d")),
                            kv("Name", sv("Status")),
                        ]),
                    ]),
                )]),
            ),
            kv(
                "xmlns",
                sv("http://schemas.microsoft.com/win/2004/08/events/event"),
            ),
        ]),
    )];
    assert_eq!(got, want);
}

fn log_user() -> Vec<KeyValue> {
    vec![
        kv("tag", sv("Log")),
        kv(
            "children",
            lv(vec![
                mv(vec![
                    kv("tag", sv("User")),
                    kv(
                        "children",
                        lv(vec![
                            mv(vec![kv("tag", sv("ID")), kv("content", sv("00001"))]),
                            mv(vec![kv("tag", sv("Name")), kv("content", sv("Joe"))]),
                            mv(vec![
                                kv("tag", sv("Email")),
                                kv("content", sv("joe.smith@example.com")),
                            ]),
                        ]),
                    ),
                ]),
                mv(vec![
                    kv("tag", sv("Text")),
                    kv("content", sv("User did a thing")),
                ]),
            ]),
        ),
    ]
}

#[test]
fn parse_xml_go_table_and_readme() {
    let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<Log>\n  <User>\n    <ID>00001</ID>\n    <Name type=\"first\">Joe</Name>\n    <Email>joe.smith@example.com</Email>\n  </User>\n  <Text>User fired alert A</Text>\n</Log>";
    let want = vec![
        kv("tag", sv("Log")),
        kv(
            "children",
            lv(vec![
                mv(vec![
                    kv("tag", sv("User")),
                    kv(
                        "children",
                        lv(vec![
                            mv(vec![kv("tag", sv("ID")), kv("content", sv("00001"))]),
                            mv(vec![
                                kv("tag", sv("Name")),
                                kv("content", sv("Joe")),
                                kv("attributes", mv(vec![kv("type", sv("first"))])),
                            ]),
                            mv(vec![
                                kv("tag", sv("Email")),
                                kv("content", sv("joe.smith@example.com")),
                            ]),
                        ]),
                    ),
                ]),
                mv(vec![
                    kv("tag", sv("Text")),
                    kv("content", sv("User fired alert A")),
                ]),
            ]),
        ),
    ];
    assert_eq!(parse_map("ParseXML", doc), want);
    assert_eq!(
        parse_map(
            "ParseXML",
            r#"<HostInfo hostname="example.com" zone="east-1" cloudprovider="aws" />"#
        ),
        vec![
            kv("tag", sv("HostInfo")),
            kv(
                "attributes",
                mv(vec![
                    kv("hostname", sv("example.com")),
                    kv("zone", sv("east-1")),
                    kv("cloudprovider", sv("aws")),
                ]),
            ),
        ]
    );
    // character data is trimmed and joined; comments and instructions ignored
    assert_eq!(
        parse_map("ParseXML", "<a> x <!-- c --> y <![CDATA[ z ]]><?pi?></a>"),
        vec![kv("tag", sv("a")), kv("content", sv("xyz"))]
    );
    // Go's Test_ParseXML table
    let go: Vec<(&str, &str, Vec<KeyValue>)> = vec![
        (
            "text values in nested elements",
            "<Log><User><ID>00001</ID><Name>Joe</Name><Email>joe.smith@example.com</Email></User><Text>User did a thing</Text></Log>",
            log_user(),
        ),
        (
            "formatted example",
            "\n\t\t<Log>\n\t\t  <User>\n\t\t    <ID>00001</ID>\n\t\t\t<Name>Joe</Name>\n\t\t\t<Email>joe.smith@example.com</Email>\n\t\t  </User>\n\t\t  <Text>User did a thing</Text>\n\t\t</Log>",
            log_user(),
        ),
        (
            "multiple tags with the same name",
            r#"<Log>This record has a collision<User id="0001"/><User id="0002"/></Log>"#,
            vec![
                kv("tag", sv("Log")),
                kv("content", sv("This record has a collision")),
                kv(
                    "children",
                    lv(vec![
                        mv(vec![
                            kv("tag", sv("User")),
                            kv("attributes", mv(vec![kv("id", sv("0001"))])),
                        ]),
                        mv(vec![
                            kv("tag", sv("User")),
                            kv("attributes", mv(vec![kv("id", sv("0002"))])),
                        ]),
                    ]),
                ),
            ],
        ),
        (
            "multiple lines of content",
            "<Log>\n\t\tThis record has multiple lines of\n\t\t<User id=\"0001\"/>\n\t\ttext content\n\t\t</Log>",
            vec![
                kv("tag", sv("Log")),
                kv(
                    "content",
                    sv("This record has multiple lines oftext content"),
                ),
                kv(
                    "children",
                    lv(vec![mv(vec![
                        kv("tag", sv("User")),
                        kv("attributes", mv(vec![kv("id", sv("0001"))])),
                    ])]),
                ),
            ],
        ),
        (
            "ignores XML declaration",
            r#"<?xml version="1.0" encoding="UTF-8" ?><Log>Log content</Log>"#,
            vec![kv("tag", sv("Log")), kv("content", sv("Log content"))],
        ),
        (
            "ignores comments",
            "<Log>This has a comment <!-- This is comment text --></Log>",
            vec![
                kv("tag", sv("Log")),
                kv("content", sv("This has a comment")),
            ],
        ),
        (
            "ignores processing instructions",
            r#"<Log><?xml-stylesheet type="text/xsl" href="style.xsl"?>Log content</Log>"#,
            vec![kv("tag", sv("Log")), kv("content", sv("Log content"))],
        ),
        (
            "ignores directives",
            "<Log><!ELEMENT xi:fallback ANY>Log content</Log>",
            vec![kv("tag", sv("Log")), kv("content", sv("Log content"))],
        ),
    ];
    for (name, doc, want) in go {
        assert_eq!(parse_map("ParseXML", doc), want, "ParseXML {name}");
    }
    for (doc, want) in [
        (
            r#"<Log id="1">"#,
            "unmarshal xml: decode next token: XML syntax error on line 1: unexpected EOF",
        ),
        (
            "<Log><Text></Log>",
            "unmarshal xml: decode next token: XML syntax error on line 1: element <Text> closed by </Log>",
        ),
        ("<Log></Log><Log></Log>", "trailing bytes after parsing xml"),
    ] {
        assert_eq!(run(&call("ParseXML", &[doc])).unwrap_err(), want);
    }
    assert_eq!(
        run(&call("ParseXML", &["<a/><b/>"])).unwrap_err(),
        "trailing bytes after parsing xml"
    );
    assert_eq!(
        run(&call("ParseXML", &[""])).unwrap_err(),
        "unmarshal xml: EOF"
    );
    assert!(
        run(&call("ParseXML", &["<a><b></a>"]))
            .unwrap_err()
            .starts_with("unmarshal xml: ")
    );
}

#[test]
fn malformed_xml_is_an_error_for_every_function() {
    // Go's invalidXMLGetter document, and others
    for bad in [
        "<a>>>>>>>",
        "<a><b></a>",
        "<a>&nosuch;</a>",
        "</a>",
        "<a b></a>",
    ] {
        for expr in [
            call("GetXML", &[bad, "/"]),
            call("RemoveXML", &[bad, "/"]),
            call("InsertXML", &[bad, "/", "<b/>"]),
            call("InsertXML", &["<a/>", "/", bad]),
            call("ConvertAttributesToElementsXML", &[bad]),
            call("ConvertTextToElementsXML", &[bad]),
            call("ParseSimplifiedXML", &[bad]),
            call("ParseXML", &[bad]),
        ] {
            let e = run(&expr).expect_err(&expr);
            assert!(
                e.starts_with("parse xml: ") || e.starts_with("unmarshal xml: "),
                "{expr}: {e}"
            );
        }
    }
    // an undeclared prefix: xmlquery refuses it, encoding/xml (ParseXML) takes the local name
    assert_eq!(
        run(&call("GetXML", &["<p:a/>", "/"])).unwrap_err(),
        "parse xml: xmlquery: invalid XML document, namespace p is missing"
    );
    assert_eq!(parse_map("ParseXML", "<p:a/>"), vec![kv("tag", sv("a"))]);
    // Go's decoder messages, with the line
    assert_eq!(
        run(&call("GetXML", &["<a>\n<b></a>", "/"])).unwrap_err(),
        "parse xml: XML syntax error on line 2: element <b> closed by </a>"
    );
    assert_eq!(
        run(&call("RemoveXML", &["<a>>>>>>>", "/"])).unwrap_err(),
        "parse xml: XML syntax error on line 1: unexpected EOF"
    );
    assert_eq!(
        run(&call("GetXML", &["</a>", "/"])).unwrap_err(),
        "parse xml: XML syntax error on line 1: unexpected end element </a>"
    );
    // directives anywhere, as Go's decoder takes them; DOCTYPE kept
    assert_eq!(
        ok_str(&call(
            "RemoveXML",
            &["<!DOCTYPE a><a><!ELEMENT x ANY><b/>t</a>", "/a/b"]
        )),
        "<a><!ELEMENT x ANY>t</a>"
    );
    // not a string
    assert_eq!(
        run(r#"GetXML(attributes["count"], "/a")"#).unwrap_err(),
        "expected string but got int64"
    );
}

#[test]
fn nesting_deeper_than_go_bound_is_an_error() {
    let depth = 10_000 + 2;
    let doc = "<a>".repeat(depth) + &"</a>".repeat(depth);
    for f in ["ParseSimplifiedXML", "ConvertTextToElementsXML", "ParseXML"] {
        let e = run(&call(f, &[&doc])).unwrap_err();
        assert!(e.contains("exceeded maximum XML nesting depth"), "{f}: {e}");
    }
    // just under the bound works, without recursion per level
    let depth = 10_000 - 1;
    let doc = "<a>".repeat(depth) + "x" + &"</a>".repeat(depth);
    let out = ok_str(&call("ConvertTextToElementsXML", &[&doc]));
    assert_eq!(out, doc);
    // the converters that build nested maps stop at MAX_VALUE_DEPTH
    let deep = 1_001;
    let doc = "<a>".repeat(deep) + "x" + &"</a>".repeat(deep);
    for f in ["ParseSimplifiedXML", "ParseXML"] {
        let e = run(&call(f, &[&doc])).unwrap_err();
        assert_eq!(e, "exceeded maximum XML nesting depth of 1000", "{f}");
    }
    let ok = 1_000;
    let doc = "<a>".repeat(ok) + "x" + &"</a>".repeat(ok);
    for f in ["ParseSimplifiedXML", "ParseXML"] {
        assert!(matches!(run(&call(f, &[&doc])), Ok(Value::Map(_))), "{f}");
    }
}

#[test]
fn bad_xpath_is_refused_at_parse_time_naming_the_expression() {
    let p = log_parser();
    for (xpath, needle) in [
        ("!", "\"!\""),
        ("", "empty expression"),
        ("/a[", "\"/a[\""),
        ("/a/", "\"/a/\""),
        ("$var", "variables are not supported"),
        (
            "//a[matches(., 'x')]",
            "function matches() is not supported",
        ),
        ("/following::a", "axis following:: is not supported"),
        ("/a[b", "\"/a[b\""),
        ("count(1)", "count() needs a node-set"),
        ("'unterminated", "unterminated string literal"),
    ] {
        for f in ["GetXML", "RemoveXML"] {
            let expr = call(f, &["<a/>", xpath]);
            let e = p
                .parse_value_expression(&expr)
                .err()
                .unwrap_or_else(|| panic!("{expr} should not parse"))
                .to_string();
            assert!(e.contains("invalid xpath: "), "{expr}: {e}");
            assert!(e.contains(needle), "{expr}: {e}");
        }
    }
    let deep = "(".repeat(200) + "1" + &")".repeat(200);
    let expr = call("GetXML", &["<a/>", &deep]);
    assert!(p.parse_value_expression(&expr).is_err());
    let long = vec!["1"; 10_000].join("+");
    let e = p
        .parse_value_expression(&call("GetXML", &["<a/>", &long]))
        .err()
        .expect("a 10,000 term sum is refused")
        .to_string();
    assert!(e.contains("more than 256 operators"), "{e}");
    let expr = format!("InsertXML({}, {}, {})", lit("<a/>"), lit("!"), lit("<b/>"));
    assert!(p.parse_value_expression(&expr).is_err());
    let expr = format!("ConvertTextToElementsXML({}, {})", lit("<a/>"), lit("/a["));
    assert!(p.parse_value_expression(&expr).is_err());
    let expr = format!(
        "ConvertAttributesToElementsXML({}, {})",
        lit("<a/>"),
        lit("@")
    );
    assert!(p.parse_value_expression(&expr).is_err());
}

#[test]
fn xpath_subset_semantics() {
    let doc = r#"<r><a n="1">x</a><a n="2">y</a><b><a n="3">z</a></b><!--c--></r>"#;
    let cases: &[(&str, &str)] = &[
        ("/r/a[2]", r#"<a n="2">y</a>"#),
        ("//a[@n > 1]", r#"<a n="2">y</a><a n="3">z</a>"#),
        ("//a[. = 'z']", r#"<a n="3">z</a>"#),
        ("//a[@n = 1 or @n = 3]", r#"<a n="1">x</a><a n="3">z</a>"#),
        ("//a[@n != '1' and text() != 'z']", r#"<a n="2">y</a>"#),
        ("/r/b/a/..", r#"<b><a n="3">z</a></b>"#),
        ("//a[1]", r#"<a n="1">x</a><a n="3">z</a>"#),
        ("(//a)[1]", r#"<a n="1">x</a>"#),
        ("(//a)[last()]/@n", "3"),
        ("/r/a[starts-with(., 'y')]", r#"<a n="2">y</a>"#),
        ("/r/child::a[count(@*) = 1][1]/text()", "x"),
        ("//a[name() = 'a'][@n = 2 + 1]", r#"<a n="3">z</a>"#),
        (
            "/r/a/following-sibling::b/a/ancestor::r/a[@n=2]",
            r#"<a n="2">y</a>"#,
        ),
        ("//comment()", ""),
        (
            "/r/*[normalize-space(concat(' ', string(@n), ' ')) = '2']",
            r#"<a n="2">y</a>"#,
        ),
        ("/r/a[@n * 2 = 4]", r#"<a n="2">y</a>"#),
        (
            "/r/a[string-length(.) = 1][position() = last()]",
            r#"<a n="2">y</a>"#,
        ),
        ("//*[local-name() = 'b']/descendant::a", r#"<a n="3">z</a>"#),
        (
            "/r/a[@n = 1]|/r/b",
            r#"<a n="1">x</a><b><a n="3">z</a></b>"#,
        ),
        ("/r/self::r/a[-1 + 2]", r#"<a n="1">x</a>"#),
    ];
    for (xpath, want) in cases {
        assert_eq!(ok_str(&call("GetXML", &[doc, xpath])), *want, "{xpath}");
    }
    // a namespace prefix in a test matches the qualified name; a plain test the local name
    let ns = r#"<r xmlns:p="u"><p:a>1</p:a><a>2</a></r>"#;
    assert_eq!(ok_str(&call("GetXML", &[ns, "/r/p:a"])), "<p:a>1</p:a>");
    assert_eq!(ok_str(&call("GetXML", &[ns, "/r/p:*"])), "<p:a>1</p:a>");
    assert_eq!(
        ok_str(&call("GetXML", &[ns, "/r/a"])),
        "<p:a>1</p:a><a>2</a>"
    );
}

#[test]
fn mangled_documents_and_xpaths_never_panic() {
    // every prefix of a rich document, and the document with each byte replaced by markup
    // characters, through every function; errors are fine, panics and hangs are not
    let doc = r#"<?xml version="1.0"?><!DOCTYPE r><r xmlns:p="u" a="1"><!-- c --><p:b x="&amp;">t<![CDATA[d]]><?pi z?></p:b><c/>tail</r>"#;
    let mut inputs: Vec<String> = (0..=doc.len())
        .filter(|&i| doc.is_char_boundary(i))
        .map(|i| doc[..i].to_string())
        .collect();
    for (i, _) in doc.char_indices() {
        for c in ['<', '>', '"'] {
            let mut s = doc.to_string();
            s.replace_range(i..i + 1, &c.to_string());
            inputs.push(s);
        }
    }
    inputs.extend(
        [
            "<!DOCTYé><a/>",
            "<a>é<!é></a>",
            "<a><!ELEMENT é 'x>'>ü</a>",
            "<é:a xmlns:é=\"u\">ö</é:a>",
            "<a b='é>'/>",
        ]
        .map(String::from),
    );
    let xpaths = [
        "/",
        "//@*",
        "//node()",
        "/r/*[last()]/..",
        "(//*)[2]/following-sibling::*",
        "//p:*/ancestor-or-self::node()",
    ];
    for s in &inputs {
        for xp in xpaths {
            let _ = run(&call("GetXML", &[s, xp]));
            let _ = run(&call("RemoveXML", &[s, xp]));
            let _ = run(&call("InsertXML", &[s, xp, s]));
            let _ = run(&call("ConvertAttributesToElementsXML", &[s, xp]));
            let _ = run(&call("ConvertTextToElementsXML", &[s, xp]));
        }
        let _ = run(&call("ParseSimplifiedXML", &[s]));
        let _ = run(&call("ParseXML", &[s]));
    }
    // mangled xpaths compile or are refused, never panic
    let p = log_parser();
    let xp = "/r/b[@x = 'a' and position() < 3]//text() | //c[not(d)]";
    for i in 0..xp.len() {
        for c in ['[', ']', '(', ')', '/', '@', ':', '*', '\'', '|', '.'] {
            let mut m = xp.to_string();
            m.replace_range(i..i + 1, &c.to_string());
            if let Ok(e) = p.parse_value_expression(&call("GetXML", &[doc, &m])) {
                let mut rec = record();
                let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
                let data = LogData::new(&mut rec, &mut scope, &mut res);
                let _ = e.eval(&data);
            }
        }
    }
}
