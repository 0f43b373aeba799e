use super::*;

fn ok(expr: &str) -> Value {
    eval(expr).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn err(expr: &str) -> String {
    match eval(expr) {
        Ok(v) => panic!("{expr} should fail, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn st(v: &str) -> Value {
    Value::Str(v.into())
}

#[test]
fn converter_table() {
    let cases: Vec<(&str, Value)> = vec![
        // Concat (README examples; nil as <nil>, maps/lists skipped)
        (
            r#"Concat(["HTTP method is: ", attributes["http.method"]], "")"#,
            st("HTTP method is: GET"),
        ),
        (
            r#"Concat([attributes["http.method"], attributes["http.path"]], ": ")"#,
            st("GET: /user/123/list/456"),
        ),
        (
            r#"Concat(["a", 1, 1.5, true, nil, 0x0a], "-")"#,
            st("a-1-1.5-true-<nil>-0a"),
        ),
        (r#"Concat(["a", attributes["tags"], "b"], "|")"#, st("a||b")),
        // ConvertCase
        (r#"ConvertCase("MY_METRIC", "lower")"#, st("my_metric")),
        (r#"ConvertCase("my_metric", "upper")"#, st("MY_METRIC")),
        (r#"ConvertCase("myMetric", "snake")"#, st("my_metric")),
        (r#"ConvertCase("my_metric", "camel")"#, st("MyMetric")),
        (r#"ToSnakeCase("MyMetricName")"#, st("my_metric_name")),
        (r#"ToCamelCase("my_metric_name")"#, st("MyMetricName")),
        (r#"ToLowerCase("MyMetricName")"#, st("mymetricname")),
        (r#"ToUpperCase("MyMetricName")"#, st("MYMETRICNAME")),
        // Int / Double / Bool / String
        (r#"Int("2.0")"#, Value::Nil),
        (r#"Int("42")"#, Value::Int(42)),
        (r#"Int(1.9)"#, Value::Int(1)),
        (r#"Int(-1.9)"#, Value::Int(-1)),
        (r#"Int(true)"#, Value::Int(1)),
        (r#"Int(attributes["tags"])"#, Value::Nil),
        (r#"Double("2.0")"#, Value::Float(2.0)),
        (r#"Double(1)"#, Value::Float(1.0)),
        (r#"Double(false)"#, Value::Float(0.0)),
        (r#"Double("x")"#, Value::Nil),
        (r#"Bool("true")"#, Value::Bool(true)),
        (r#"Bool("0")"#, Value::Bool(false)),
        (r#"Bool(2)"#, Value::Bool(true)),
        (r#"Bool(0.0)"#, Value::Bool(false)),
        (r#"Bool("yes")"#, Value::Nil),
        (r#"String("test")"#, st("test")),
        (r#"String(false)"#, st("false")),
        (r#"String([1,2,3])"#, st("[1,2,3]")),
        (r#"String(0x0102)"#, st("0102")),
        (r#"String(1.5)"#, st("1.5")),
        // doubles print as pcommon's AsString (ES6 style) inside maps and as values
        (
            r#"Concat([String({"a": 0.0000001}), String({"b": 1000000000000000000000.0})], "|")"#,
            st(r#"{"a":1e-7}|{"b":1e+21}"#),
        ),
        (r#"String(0.0000001)"#, st("0.0000001")),
        (r#"String(attributes["missing"])"#, Value::Nil),
        (r#"String({"a": 1})"#, st(r#"{"a":1}"#)),
        // Len
        (r#"Len("abc")"#, Value::Int(3)),
        (r#"Len(attributes["tags"])"#, Value::Int(2)),
        (r#"Len(attributes["nested"])"#, Value::Int(1)),
        // IsMatch: non-strings stringified; nil false
        (r#"IsMatch("string", ".*ring")"#, Value::Bool(true)),
        (
            r#"IsMatch(attributes["http.path"], "^/user/\\d+")"#,
            Value::Bool(true),
        ),
        (r#"IsMatch(attributes["count"], "^3$")"#, Value::Bool(true)),
        (r#"IsMatch(attributes["flag"], "true")"#, Value::Bool(true)),
        (
            r#"IsMatch(attributes["missing"], ".*")"#,
            Value::Bool(false),
        ),
        (
            r#"IsMatch(attributes["tags"], "^\\[\"a\"")"#,
            Value::Bool(true),
        ),
        // type predicates
        (r#"IsString(body)"#, Value::Bool(true)),
        (r#"IsInt(attributes["count"])"#, Value::Bool(true)),
        (r#"IsDouble(attributes["ratio"])"#, Value::Bool(true)),
        (r#"IsBool(attributes["flag"])"#, Value::Bool(true)),
        (r#"IsBool(42)"#, Value::Bool(false)),
        (r#"IsMap(attributes["nested"])"#, Value::Bool(true)),
        (r#"IsList(attributes["tags"])"#, Value::Bool(true)),
        (r#"IsEmpty("")"#, Value::Bool(true)),
        (r#"IsEmpty(attributes["missing"])"#, Value::Bool(true)),
        (r#"IsEmpty(attributes["tags"])"#, Value::Bool(false)),
        // ParseJSON: numbers are doubles
        (r#"ParseJSON("{\"attr\":true}")["attr"]"#, Value::Bool(true)),
        (r#"ParseJSON("[\"attr1\",\"attr2\"]")[1]"#, st("attr2")),
        (r#"ParseJSON("{\"n\":1}")["n"]"#, Value::Float(1.0)),
        (
            r#"ParseJSON("{\"a\":{\"b\":[1,\"x\"]}}")["a"]["b"][1]"#,
            st("x"),
        ),
        // ParseKeyValue
        (r#"ParseKeyValue("k1=v1 k2=v2 k3=v3")["k2"]"#, st("v2")),
        (
            r#"ParseKeyValue("k1!v1_k2!v2_k3!v3", "!", "_")["k3"]"#,
            st("v3"),
        ),
        (r#"ParseKeyValue("a=\"x y\" b=2")["a"]"#, st("x y")),
        // ExtractPatterns
        (
            r#"ExtractPatterns("GIT_SHA=abc123 x", "GIT_SHA=(?P<git_sha>\\w+)")["git_sha"]"#,
            st("abc123"),
        ),
        (
            r#"Len(ExtractPatterns("nothing", "GIT_SHA=(?P<git_sha>\\w+)"))"#,
            Value::Int(0),
        ),
        // Split / Substring / Trim
        (r#"Split("a,b,c", ",")[1]"#, st("b")),
        (r#"Len(Split("", ","))"#, Value::Int(1)),
        (r#"Substring("123456789", 0, 3)"#, st("123")),
        (r#"Substring("123456789", 3, 3)"#, st("456")),
        (r#"Substring("一二三", 0, 4, true)"#, st("一")),
        (r#"Trim(" this is a test ", " ")"#, st("this is a test")),
        (r#"Trim("!!this is a test!!", "!!")"#, st("this is a test")),
        (r#"Trim("  x  ")"#, st("x")),
        (r#"TrimPrefix("ingest_service", "ingest_")"#, st("service")),
        (r#"TrimSuffix("ingest_service", "_service")"#, st("ingest")),
        (r#"TrimPrefix("service", "ingest_")"#, st("service")),
        (
            r#"HasPrefix("ingest_service", "ingest_")"#,
            Value::Bool(true),
        ),
        (
            r#"HasSuffix("ingest_service", "_service")"#,
            Value::Bool(true),
        ),
        (
            r#"HasSuffix("ingest_service", "ingest")"#,
            Value::Bool(false),
        ),
        // hashes (Go unit tests' values)
        (r#"FNV("hello world")"#, Value::Int(8618312879776256743)),
        (r#"FNV("")"#, Value::Int(-3750763034362895579)),
        (r#"Murmur3Hash("Hello World")"#, st("ce837619")),
        (r#"Murmur3Hash("")"#, st("00000000")),
        (
            r#"Murmur3Hash128("Hello World")"#,
            st("dbc2a0c1ab26631a27b4c09fcf1fe683"),
        ),
        (
            r#"Murmur3Hash128("")"#,
            st("00000000000000000000000000000000"),
        ),
        (
            r#"SHA256("hello world")"#,
            st("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"),
        ),
        (
            r#"SHA1("hello world")"#,
            st("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
        ),
        (
            r#"MD5("hello world")"#,
            st("5eb63bbbe01eeed093cb22bb8f5acdc3"),
        ),
        (
            r#"SHA512("hello world")"#,
            st(
                "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f",
            ),
        ),
        // Hex (big-endian bytes as Go's ByteSliceLikeGetter)
        (r#"Hex(1.1)"#, st("3ff199999999999a")),
        (r#"Hex("1")"#, st("31")),
        (r#"Hex(true)"#, st("01")),
        (r#"Hex(12)"#, st("000000000000000c")),
        (r#"Hex(0x02)"#, st("02")),
        // Base64 / Decode
        (r#"Base64Encode("test string")"#, st("dGVzdCBzdHJpbmc=")),
        (
            r#"Base64Encode("test string", "base64-raw")"#,
            st("dGVzdCBzdHJpbmc"),
        ),
        (r#"Base64Decode("aGVsbG8gd29ybGQ=")"#, st("hello world")),
        (r#"Decode("aGVsbG8gd29ybGQ=", "base64")"#, st("hello world")),
        // Go trims the whitespace around base64 input
        (
            r#"Decode("  aGVsbG8gd29ybGQ=\n", "base64")"#,
            st("hello world"),
        ),
        (
            r#"Decode("dGVzdCBzdHJpbmc", "base64-raw")"#,
            st("test string"),
        ),
        (r#"Decode("P_8_", "base64-url")"#, st("?\u{fffd}?")),
        (r#"Decode("Pz8_", "base64-raw-url")"#, st("???")),
        (r#"Decode("test string", "us-ascii")"#, st("test string")),
        (r#"Decode("test string", "nop")"#, st("test string")),
        (r#"Decode(0xe9, "ISO-8859-1")"#, st("é")),
        // IANA latin1: 0x80 is a C1 control, windows-1252 makes it the euro sign
        (r#"Decode(0x80, "ISO-8859-1")"#, st("\u{80}")),
        (r#"Decode(0x80, "windows-1252")"#, st("€")),
        (r#"Decode(0x68006900, "utf-16")"#, st("hi")),
        (r#"Decode(0x00680069, "UTF-16BE")"#, st("hi")),
        (r#"Decode(0x82a0, "Shift_JIS")"#, st("あ")),
        (r#"Decode(0xc4e3bac3, "GBK")"#, st("你好")),
        (
            r#"Decode(0x416c696365, Concat(["utf", "8"], "-"))"#,
            st("Alice"),
        ),
        // Format (Go fmt.Sprintf)
        (r#"Format("%02d", [5])"#, st("05")),
        (
            r#"Format("%04d-%02d-%02d", [2024, 1, 5])"#,
            st("2024-01-05"),
        ),
        (
            r#"Format("%s/%s", ["a", attributes["http.method"]])"#,
            st("a/GET"),
        ),
        (r#"Format("%d", ["x"])"#, st("%!d(string=x)")),
        (
            r#"Format("%.2f|%v|%t", [1.239, 3, true])"#,
            st("1.24|3|true"),
        ),
        // TraceID / SpanID
        (
            r#"TraceID(0x00000000000000000000000000000001)"#,
            Value::Bytes({
                let mut v = vec![0; 16];
                v[15] = 1;
                v
            }),
        ),
        (
            r#"SpanID("0102030405060708")"#,
            Value::Bytes(vec![1, 2, 3, 4, 5, 6, 7, 8]),
        ),
        // Keys / Values / Index / ContainsValue / Coalesce
        (r#"Keys({"k1":"v1", "k2": "v2"})"#, str_list(&["k1", "k2"])),
        (
            r#"Values({"k1":"v1", "k2": "v2"})"#,
            str_list(&["v1", "v2"]),
        ),
        (r#"Index("hello world", "world")"#, Value::Int(6)),
        (r#"Index(attributes["tags"], "b")"#, Value::Int(1)),
        (r#"Index(attributes["tags"], "z")"#, Value::Int(-1)),
        (r#"ContainsValue([1, 2, 3, 4, 5], 3)"#, Value::Bool(true)),
        (
            r#"ContainsValue([1.1, 2.2, 3.3, 4.4], 4.4)"#,
            Value::Bool(true),
        ),
        (
            r#"ContainsValue(["GET", "PUT", "POST"], "DELETE")"#,
            Value::Bool(false),
        ),
        (
            r#"Coalesce([attributes["missing"], attributes["also.missing"], "unknown"])"#,
            st("unknown"),
        ),
        (r#"Coalesce([attributes["missing"]])"#, Value::Nil),
        // SliceToMap (README example)
        (
            r#"SliceToMap([{"name": "foo", "value": 2}, {"name": "bar", "value": 5}], ["name"], ["value"])["bar"]"#,
            Value::Int(5),
        ),
        (
            r#"SliceToMap([{"name": "foo", "value": 2}], ["name"])["foo"]["value"]"#,
            Value::Int(2),
        ),
        (r#"SliceToMap([{"name": "foo"}])["0"]["name"]"#, st("foo")),
        // Sort
        (r#"Sort([3, 1, 2])"#, Value::List(vec![i(1), i(2), i(3)])),
        (
            r#"Sort(["b", "a", "c"], "desc")"#,
            str_list(&["c", "b", "a"]),
        ),
        (
            r#"Sort([2, 1.5, 1])"#,
            Value::List(vec![i(1), f(1.5), i(2)]),
        ),
        // ParseInt (README examples)
        (r#"ParseInt("0b1111_0000", 0)"#, Value::Int(240)),
        (r#"ParseInt("0xFF", 0)"#, Value::Int(255)),
        (r#"ParseInt("-0xFF", 0)"#, Value::Int(-255)),
        (r#"ParseInt("-0o123", 0)"#, Value::Int(-83)),
        (r#"ParseInt("12345", 10)"#, Value::Int(12345)),
        (r#"ParseInt("AA", 16)"#, Value::Int(170)),
        (r#"ParseInt("-20", 8)"#, Value::Int(-16)),
        // others
        (r#"IsValidLuhn("17893729974")"#, Value::Bool(true)),
        (r#"IsValidLuhn("17893729975")"#, Value::Bool(false)),
        (
            r#"IsInCIDR("192.168.1.5", ["192.168.0.0/16"])"#,
            Value::Bool(true),
        ),
        (
            r#"IsInCIDR("10.1.1.1", ["192.168.0.0/16", "10.0.0.0/8"])"#,
            Value::Bool(true),
        ),
        (
            r#"IsInCIDR("11.1.1.1", ["192.168.0.0/16", "10.0.0.0/8"])"#,
            Value::Bool(false),
        ),
        (
            r#"ToKeyValueString({"k1":"v1","k2":"v=2"}, "=", " ", true)"#,
            st(r#"k1=v1 k2="v=2""#),
        ),
        (
            r#"ParseCSV("999-999-9999,Joe Smith,joe.smith@example.com", "phone,name,email")["name"]"#,
            st("Joe Smith"),
        ),
        (
            r#"ParseCSV("\"555-555-5556,Joe Smith\",joe.smith@example.com", "phone,name,email", mode="ignoreQuotes")["email"]"#,
            st("joe.smith@example.com"),
        ),
        (r#"ParseCSV("a|b", "x|y", delimiter="|")["y"]"#, st("b")),
        (r#"Log(1)"#, Value::Float(0.0)),
        // XXH3 reference vectors (empty input)
        (r#"XXH3("")"#, st("2d06800538d394c2")),
        (r#"XXH128("")"#, st("99aa06d3014798d86001c324468d497f")),
        // the Community ID specification's example flow
        (
            r#"CommunityID("128.232.110.120", 34855, "66.35.250.204", 80)"#,
            st("1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        ),
        (
            r#"CommunityID("66.35.250.204", 80, "128.232.110.120", 34855, "TCP", 0)"#,
            st("1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        ),
        (
            r#"ParseSeverity("inf", {"info":[{"equals": ["inf"]}, {"range":{"min":200, "max":299}}]})"#,
            st("info"),
        ),
        (
            r#"ParseSeverity(250, {"info":[{"equals": ["inf"]}, {"range":{"min":200, "max":299}}]})"#,
            st("info"),
        ),
        (
            r#"ParseSeverity(404, {"info":[{"range":"2xx"}], "error":[{"range":{"min":400, "max":499}}]})"#,
            st("error"),
        ),
        (r#"Len(UUID())"#, Value::Int(36)),
        (r#"Substring(UUID(), 14, 1)"#, st("4")),
        (r#"Substring(UUIDv7(), 14, 1)"#, st("7")),
    ];
    for (expr, want) in cases {
        assert_eq!(ok(expr), want, "{expr}");
    }
}

#[test]
fn url_components_as_the_readme_lists() {
    let Value::Map(m) = ok(
        r#"URL("http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment")"#,
    ) else {
        panic!()
    };
    let want = [
        ("url.path", s("/foo.gif")),
        ("url.fragment", s("fragment")),
        ("url.extension", s("gif")),
        ("url.password", s("mypassword")),
        ("url.scheme", s("http")),
        ("url.port", i(80)),
        ("url.user_info", s("myusername:mypassword")),
        ("url.domain", s("www.example.com")),
        ("url.query", s("key1=val1&key2=val2")),
        ("url.username", s("myusername")),
    ];
    for (k, v) in want {
        assert_eq!(get(&m, k), Some(&v), "{k}");
    }
    let Value::Map(m) = ok(r#"URL("http://www.example.com")"#) else {
        panic!()
    };
    assert_eq!(get(&m, "url.path"), Some(&s("")));
    assert_eq!(m.len(), 4);
}

#[test]
fn converter_errors_as_go() {
    let cases = [
        (r#"FNV(10)"#, "expected string but got int64"),
        (
            r#"SHA256(attributes["missing"])"#,
            "expected string but got nil",
        ),
        (
            r#"Substring("abc", 2, 5)"#,
            "invalid range for substring function, 7 cannot be greater than the length of target string(3)",
        ),
        (
            r#"Substring("abc", -1, 1)"#,
            "invalid start for substring function, -1 cannot be negative",
        ),
        (
            r#"Substring("abc", 0, 0)"#,
            "invalid length for substring function, 0 cannot be negative or zero",
        ),
        (r#"ParseJSON("{")"#, "EOF"),
        (r#"ParseJSON(1)"#, "expected string but got int64"),
        (r#"ParseKeyValue("")"#, "cannot parse from empty target"),
        (
            r#"ParseKeyValue("a=b c")"#,
            "cannot split \"c\" into 2 items",
        ),
        (r#"Split(1, ",")"#, "expected string but got int64"),
        (r#"Len(1)"#, "target arg must be of type string"),
        (r#"Keys("a")"#, "expected pcommon.Map but got string"),
        (r#"TraceID(0x01)"#, "traces ids must be 16 bytes"),
        (r#"Log(0)"#, "greater than zero"),
        (r#"attributes["count"] / 0"#, "attempted to divide by 0"),
        (
            r#"attributes["tags"]["x"]"#,
            "slice must be indexed by an int key",
        ),
        (r#"attributes["tags"][5]"#, "index 5 out of bounds"),
        (
            r#"attributes["count"]["x"]"#,
            "type Int does not support string indexing",
        ),
    ];
    for (expr, want) in cases {
        let e = err(expr);
        assert!(e.contains(want), "{expr}: {e}");
    }
    // a failing converter inside a constant-folded literal reports at parse time
    let e = log_parser().parse_value_expression("1 / 0").err();
    assert!(e.is_some_and(|e| e.to_string().contains("divide by 0")));
}

#[test]
fn time_and_duration_converters() {
    let cases: Vec<(&str, Value)> = vec![
        (r#"Duration("3s")"#, Value::Duration(3_000_000_000)),
        (r#"Duration("333ms")"#, Value::Duration(333_000_000)),
        (r#"Duration("1h30m")"#, Value::Duration(5_400_000_000_000)),
        (r#"Duration("1.5us")"#, Value::Duration(1_500)),
        (r#"Hours(Duration("90m"))"#, Value::Float(1.5)),
        (r#"Minutes(Duration("1h"))"#, Value::Float(60.0)),
        (r#"Seconds(Duration("1h"))"#, Value::Float(3600.0)),
        (r#"Milliseconds(Duration("1h"))"#, Value::Int(3_600_000)),
        (r#"Microseconds(Duration("1ms"))"#, Value::Int(1_000)),
        (r#"Nanoseconds(Duration("1ms"))"#, Value::Int(1_000_000)),
        (r#"UnixSeconds(Unix(1672527600))"#, Value::Int(1672527600)),
        (
            r#"UnixMilli(Unix(1672527600, 5000000))"#,
            Value::Int(1672527600005),
        ),
        (r#"UnixMicro(Unix(1, 1000))"#, Value::Int(1_000_001)),
        (r#"UnixNano(Unix(1, 1))"#, Value::Int(1_000_000_001)),
        // 1672527600 is 2022-12-31T23:00:00Z, a Saturday
        (r#"Year(Unix(1672527600))"#, Value::Int(2022)),
        (r#"Month(Unix(1672527600))"#, Value::Int(12)),
        (r#"Day(Unix(1672527600))"#, Value::Int(31)),
        (r#"Hour(Unix(1672527600))"#, Value::Int(23)),
        (r#"Minute(Unix(1672527660))"#, Value::Int(1)),
        (r#"Second(Unix(1672527601))"#, Value::Int(1)),
        (r#"Nanosecond(Unix(0, 42))"#, Value::Int(42)),
        (r#"Weekday(Unix(1672527600))"#, Value::Int(6)),
        (
            r#"UnixNano(Time("02/04/2023", "%m/%d/%Y"))"#,
            Value::Int(1_675_468_800_000_000_000),
        ),
        (
            r#"UnixSeconds(Time("Feb 15, 2023", "%b %d, %Y"))"#,
            Value::Int(1_676_419_200),
        ),
        (
            r#"UnixSeconds(Time("2023-05-26 12:34:56", "%Y-%m-%d %H:%M:%S", "America/New_York"))"#,
            Value::Int(1_685_118_896),
        ),
        (
            r#"UnixSeconds(Time("2012-11-01T22:08:41+0000", "%Y-%m-%dT%H:%M:%S%z"))"#,
            Value::Int(1_351_807_721),
        ),
        (
            r#"FormatTime(Time("02/04/2023", "%m/%d/%Y"), "%A %h %e %Y")"#,
            st("Saturday Feb  4 2023"),
        ),
        (
            r#"FormatTime(Unix(1672527600), "%Y-%m-%d %H:%M:%S")"#,
            st("2022-12-31 23:00:00"),
        ),
        (
            r#"UnixSeconds(TruncateTime(Unix(1672527601, 500), Duration("1s")))"#,
            Value::Int(1672527601),
        ),
        (
            r#"UnixNano(TruncateTime(Unix(1672527601, 500), Duration("1s")))"#,
            Value::Int(1_672_527_601_000_000_000),
        ),
        (r#"Unix(10) - Unix(4)"#, Value::Duration(6_000_000_000)),
        (r#"UnixSeconds(Unix(10) + Duration("1s"))"#, Value::Int(11)),
        (r#"time"#, Value::utc_time(1_700_000_000_000_000_000)),
        (r#"UnixSeconds(time)"#, Value::Int(1_700_000_000)),
    ];
    for (expr, want) in cases {
        assert_eq!(ok(expr), want, "{expr}");
    }
    assert_eq!(
        ok(r#"ProfileID(0x0102030405060708090a0b0c0d0e0f10)"#),
        Value::Bytes((1..=16).collect())
    );
    assert_eq!(
        ok(r#"ProfileID("0102030405060708090a0b0c0d0e0f10")"#),
        Value::Bytes((1..=16).collect())
    );
    for (expr, msg) in [
        (r#"ProfileID(0x0102)"#, "profile ids must be 16 bytes"),
        (
            r#"ProfileID(0x00000000000000000000000000000000)"#,
            "profile ids cannot be all zeroes",
        ),
    ] {
        let Err(e) = log_parser().parse_value_expression(expr) else {
            panic!("{expr} must not parse");
        };
        assert!(e.to_string().ends_with(msg), "{e}");
    }
    assert_eq!(
        err(r#"ProfileID(attributes["http.method"])"#),
        "profile ids must be 32 hex characters"
    );
    assert!(err(r#"Decode("!!", "base64")"#).starts_with("could not decode: "));
    assert_eq!(
        err(r#"Decode("x", attributes["http.method"])"#),
        "unsupported encoding 'GET'"
    );
    assert!(err(r#"Decode(1, "utf-8")"#).contains("unsupported type provided to Decode function"));
    let Err(e) = log_parser().parse_value_expression(r#"Decode("x", "invalid-encoding")"#) else {
        panic!("an unknown literal encoding must not parse");
    };
    assert!(
        e.to_string()
            .ends_with("unsupported encoding 'invalid-encoding'"),
        "{e}"
    );
    assert!(err(r#"Duration("3 apples")"#).contains("time: unknown unit"));
    assert!(err(r#"Hour(1)"#).contains("expected time but got int64"));
    assert!(matches!(ok("Now()"), Value::Time(t, _) if t > 1_700_000_000_000_000_000));
}

#[test]
fn times_keep_their_location_as_go() {
    const F: &str = "%Y-%m-%d %H:%M:%S";
    let tokyo = |t: &str| format!(r#"Time("{t}", "{F}", "Asia/Tokyo")"#);
    let ny = |t: &str| format!(r#"Time("{t}", "{F}", "America/New_York")"#);
    let cases: Vec<(String, Value)> = vec![
        // the wall clock of the location it was read in, not UTC
        (format!("Hour({})", ny("2023-05-26 12:34:56")), Value::Int(12)),
        (format!("Minute({})", ny("2023-05-26 12:34:56")), Value::Int(34)),
        (format!("Day({})", tokyo("2023-05-26 01:00:00")), Value::Int(26)),
        // Friday in Tokyo, still Thursday in UTC
        (format!("Weekday({})", tokyo("2023-05-26 01:00:00")), Value::Int(5)),
        (format!("Month({})", tokyo("2023-06-01 03:00:00")), Value::Int(6)),
        (format!("Year({})", tokyo("2024-01-01 03:00:00")), Value::Int(2024)),
        (
            format!(r#"FormatTime({}, "%H:%M %Z")"#, tokyo("2023-05-26 12:34:56")),
            st("12:34 JST"),
        ),
        (
            format!(r#"FormatTime({}, "%Y-%m-%dT%H:%M:%S%z")"#, ny("2023-01-10 08:00:00")),
            st("2023-01-10T08:00:00-0500"),
        ),
        // the instant is the same whatever the location
        (format!("UnixSeconds({})", ny("2023-05-26 12:34:56")), Value::Int(1_685_118_896)),
        // math and truncation keep the location
        (
            format!(r#"Hour({} + Duration("1h"))"#, tokyo("2023-05-26 12:34:56")),
            Value::Int(13),
        ),
        (
            // Go truncates the absolute time: midnight UTC, 09:00 in Tokyo
            format!(r#"Hour(TruncateTime({}, Duration("24h")))"#, tokyo("2023-05-26 01:30:00")),
            Value::Int(9),
        ),
        // an offset in the input that the location has at that instant keeps the location
        (
            r#"FormatTime(Time("2023-01-10 08:00:00 -0500", "%Y-%m-%d %H:%M:%S %z", "America/New_York"), "%Z")"#.into(),
            st("EST"),
        ),
        // another offset: a fixed zone of that offset, read at that offset
        (
            r#"Hour(Time("2023-05-26T12:34:56+0200", "%Y-%m-%dT%H:%M:%S%z", "America/New_York"))"#.into(),
            Value::Int(12),
        ),
        (
            r#"FormatTime(Time("2023-05-26T12:34:56+0200", "%Y-%m-%dT%H:%M:%S%z", "America/New_York"), "%H %z")"#.into(),
            st("12 +0200"),
        ),
        // a layout ending in a literal Z reads UTC
        (
            r#"Hour(Time("2023-05-26T12:34:56Z", "%Y-%m-%dT%H:%M:%SZ"))"#.into(),
            Value::Int(12),
        ),
        // pdata timestamps are UTC (`AsTime().UTC()`)
        (r#"Hour(time)"#.into(), Value::Int(22)),
        (r#"FormatTime(time, "%Z")"#.into(), st("UTC")),
    ];
    for (expr, want) in cases {
        assert_eq!(ok(&expr), want, "{expr}");
    }
    // the location can be read from the item
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["tz"], "Europe/Berlin")"#,
            r#"set(attributes["h"], Hour(Time("2023-07-01 10:00:00", "%Y-%m-%d %H:%M:%S", attributes["tz"])))"#,
            r#"set(attributes["u"], UnixSeconds(Time("2023-07-01 10:00:00", "%Y-%m-%d %H:%M:%S", attributes["tz"])))"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "h"), Some(&i(10)));
    // 10:00 CEST is 08:00 UTC
    assert_eq!(get(&rec.attributes, "u"), Some(&i(1_688_198_400)));
    // a time's string form names its zone as Go's time.Time.String()
    let v = ok(&tokyo("2023-05-26 12:34:56"));
    assert_eq!(v.as_string(), "2023-05-26 12:34:56 +0900 JST");
    let v = ok(r#"Time("2023-05-26T12:34:56.5+0200", "%Y-%m-%dT%H:%M:%S.%L%z", "UTC")"#);
    assert_eq!(v.as_string(), "2023-05-26 12:34:56.5 +0200 +0200");
    // an unknown location fails when the statement is parsed (a literal) or run (a path)
    let Err(e) =
        log_parser().parse_value_expression(r#"Time("2023-05-26", "%Y-%m-%d", "Mars/Olympus")"#)
    else {
        panic!("an unknown location must not parse");
    };
    let e = e.to_string();
    assert!(e.contains("failed to load location Mars/Olympus"), "{e}");
    let mut rec = record();
    let r = run(
        &mut rec,
        &[r#"set(attributes["x"], Time("2023-05-26", "%Y-%m-%d", attributes["http.method"]))"#],
    );
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("failed to load location GET")
    );
}

/// The Go README's and unit tests' user agents (uap-core through uap-go).
#[test]
fn user_agent_as_go() {
    let ua = |s_: &str| match ok(&format!("UserAgent({s_:?})")) {
        Value::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    };
    // (input, user_agent.name, user_agent.version, os.name, os.version)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36",
            "Chrome",
            "51.0.2704",
            Some("Windows"),
            Some("10"),
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
            "Firefox",
            "126.0",
            Some("Linux"),
            None,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Safari",
            "17.4",
            Some("Mac OS X"),
            Some("10.15.7"),
        ),
        ("curl/7.81.0", "curl", "7.81.0", Some("Other"), None),
        (
            "foobar/1.2.3 (foo; bar baz)",
            "Other",
            "",
            Some("Other"),
            None,
        ),
        ("", "Other", "", Some("Other"), None),
    ];
    for (input, name, version, os_name, os_version) in cases {
        let m = ua(input);
        assert_eq!(get(&m, "user_agent.name"), Some(&s(name)), "{input}");
        assert_eq!(get(&m, "user_agent.version"), Some(&s(version)), "{input}");
        assert_eq!(get(&m, "user_agent.original"), Some(&s(input)), "{input}");
        assert_eq!(get(&m, "os.name"), os_name.map(s).as_ref(), "{input}");
        assert_eq!(get(&m, "os.version"), os_version.map(s).as_ref(), "{input}");
    }
    assert!(err(r#"UserAgent(attributes["count"])"#).contains("expected string"));
}

/// Go's func_extract_grok_patterns_test.go cases.
#[test]
fn extract_grok_patterns_as_go() {
    let grok = |target: &str, pattern: &str, named: bool, defs: &[&str]| -> Value {
        let defs = defs
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        ok(&format!(
            "ExtractGrokPatterns({target:?}, {pattern:?}, {named}, [{defs}])"
        ))
    };
    let as_map = |v: Value| match v {
        Value::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    };
    // regex - extract patterns
    let m = as_map(grok(
        "a=b c=d",
        r"^a=(?P<a>\w+)\s+c=(?P<c>\w+)$",
        false,
        &[],
    ));
    assert_eq!(m, vec![kv("a", s("b")), kv("c", s("d"))]);
    // regex - no pattern found: an empty map
    assert_eq!(
        as_map(grok("a=b c=d", r"^a=(?P<a>\w+)$", false, &[])),
        vec![]
    );
    // grok - URI default pattern: every sub-pattern is captured under its name
    let m = as_map(grok(
        "http://user:password@example.com:80/path?query=string",
        "%{URI}",
        false,
        &[],
    ));
    for (k, v) in [
        ("URIPROTO", "http"),
        ("USER", "user"),
        ("URIHOST", "example.com:80"),
        ("IPORHOST", "example.com"),
        ("POSINT", "80"),
        ("URIPATH", "/path"),
        ("URIQUERY", "query=string"),
    ] {
        assert_eq!(get(&m, k), Some(&s(v)), "{k}");
    }
    // grok - URI AWS pattern with captures: dotted names, an int hint
    let m = as_map(grok(
        "http://user:password@example.com:80/path?query=string",
        "%{ELB_URI}",
        true,
        &[],
    ));
    assert_eq!(
        m,
        vec![
            kv("url.scheme", s("http")),
            kv("url.username", s("user")),
            kv("url.domain", s("example.com")),
            kv("url.port", i(80)),
            kv("url.path", s("/path")),
            kv("url.query", s("query=string")),
        ]
    );
    // grok - POSTGRES log sample: leftmost match of DATESTAMP starts at "24-"
    let m = as_map(grok(
        "2024-06-18 12:34:56 UTC johndoe 12345 67890",
        "%{DATESTAMP:timestamp} %{TZ:event.timezone} %{DATA:user.name} %{GREEDYDATA:postgresql.log.connection_id} %{POSINT:process.pid:int}",
        true,
        &[],
    ));
    assert_eq!(
        m,
        vec![
            kv("timestamp", s("24-06-18 12:34:56")),
            kv("event.timezone", s("UTC")),
            kv("user.name", s("johndoe")),
            kv("postgresql.log.connection_id", s("12345")),
            kv("process.pid", i(67890)),
        ]
    );
    // grok - custom patterns
    let m = as_map(grok(
        "2024-06-18 12:34:56 otel",
        "%{MYPATTERN}",
        true,
        &[
            "MYPATTERN=%{MYDATEPATTERN:timestamp} otel",
            "MYDATEPATTERN=%{DATE}[- ]%{TIME}",
        ],
    ));
    assert_eq!(m, vec![kv("timestamp", s("24-06-18 12:34:56"))]);
    // the README's Apache combined log with float and bool hints
    let m = as_map(grok(
        r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08""#,
        "%{COMBINEDAPACHELOG}",
        true,
        &[],
    ));
    for (k, v) in [
        ("source.address", s("127.0.0.1")),
        ("user.name", s("frank")),
        ("timestamp", s("10/Oct/2000:13:55:36 -0700")),
        ("http.request.method", s("GET")),
        ("url.original", s("/apache_pb.gif")),
        ("http.version", s("1.0")),
        ("http.response.status_code", i(200)),
        ("http.response.body.size", i(2326)),
        (
            "http.request.referrer",
            s("http://www.example.com/start.html"),
        ),
        ("user_agent.original", s("Mozilla/4.08")),
    ] {
        assert_eq!(get(&m, k), Some(&v), "{k}");
    }
    let m = as_map(grok(
        "t=1.5 ok=true",
        "t=%{NUMBER:t:float} ok=%{WORD:ok:bool}",
        true,
        &[],
    ));
    assert_eq!(m, vec![kv("t", f(1.5)), kv("ok", b(true))]);
    // a name used twice: the later non-empty capture wins (a Go regexp allows the name twice)
    let m = as_map(grok("a b", "%{WORD:w} %{WORD:w}", true, &[]));
    assert_eq!(m, vec![kv("w", s("b"))]);
    // no named group, not namedCapturesOnly: an empty map
    assert_eq!(as_map(grok("foobar", "(.*)", false, &[])), vec![]);
    // the pattern may be read from the item
    assert_eq!(
        ok(r#"ExtractGrokPatterns("GET /x", Concat(["%{WORD:m}", "%{NOTSPACE:p}"], " "))"#),
        Value::Map(vec![kv("m", s("GET")), kv("p", s("/x"))])
    );

    // errors
    let parse_err = |e: &str| -> String {
        match log_parser().parse_value_expression(e) {
            Ok(_) => panic!("{e} must not parse"),
            Err(e) => e.to_string(),
        }
    };
    let e = parse_err(r#"ExtractGrokPatterns("foobar", "(")"#);
    assert!(
        e.contains("the regex pattern supplied to ExtractGrokPatterns '\"(\"' is not a valid pattern: error parsing regexp: missing closing )"),
        "{e}"
    );
    let e = parse_err(r#"ExtractGrokPatterns("x", "%{NOPE}")"#);
    assert!(
        e.contains(r#"pattern definition "NOPE" unknown: parsing failed"#),
        "{e}"
    );
    let e = parse_err(r#"ExtractGrokPatterns("x", "%{URI}", false, ["PAT:TERN=invalid"])"#);
    assert!(
        e.ends_with(r#"pattern ID "PAT:TERN" should not contain ':'"#),
        "{e}"
    );
    let e =
        parse_err(r#"ExtractGrokPatterns("x", "%{URI}", false, ["THISPATTERNHASNOEQUALSIGN"])"#);
    assert!(
        e.ends_with(r#"pattern "THISPATTERNHASNOE..." supplied to ExtractGrokPatterns at index 0 has incorrect format, expecting PATTERNNAME=pattern definition"#),
        "{e}"
    );
    let e = parse_err(r#"ExtractGrokPatterns("x", "%{WORD}", true)"#);
    assert!(
        e.ends_with("at least 1 named capture group must be supplied in the given regex"),
        "{e}"
    );
    let e = parse_err(r#"ExtractGrokPatterns("x", "%{LOOP}", false, ["LOOP=a%{LOOP}%{LOOP}"])"#);
    assert!(e.contains("expands past"), "{e}");
    assert!(
        err(r#"ExtractGrokPatterns(attributes["count"], "%{URI}")"#).contains("expected string")
    );
    assert!(err(r#"ExtractGrokPatterns(attributes["missing"], "(?P<line>.*)")"#).contains("nil"));
    assert_eq!(
        err(r#"ExtractGrokPatterns("x1", "%{WORD:n:int}")"#),
        r#"strconv.Atoi: parsing "x1": invalid syntax"#
    );
    assert_eq!(
        err(r#"ExtractGrokPatterns("x1", "%{WORD:n:blob}")"#),
        "invalid type for n: type not specified"
    );
}

#[test]
fn set_and_map_editors() {
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["new"], "v")"#,
            r#"set(attributes["nil"], attributes["missing"])"#,
            r#"set(attributes["nested"]["a"][1]["b"], "y")"#,
            r#"set(attributes["deep"]["x"]["y"], 1)"#,
            r#"set(attributes["list"], [1, "x", 2.5, true, nil])"#,
            r#"set(attributes["m"], {"k": "v", "n": [1]})"#,
            r#"set(severity_text, "WARN")"#,
            r#"set(severity_number, SEVERITY_NUMBER_WARN)"#,
            r#"set(severity_text, 5)"#,
            r#"delete_key(attributes, "http.method")"#,
        ],
    )
    .unwrap();
    let a = &rec.attributes;
    assert_eq!(get(a, "new"), Some(&s("v")));
    assert!(get(a, "nil").is_none(), "set with nil is a no-op");
    assert_eq!(
        get(a, "nested"),
        Some(&map(vec![kv(
            "a",
            list(vec![i(1), map(vec![kv("b", s("y"))])])
        )]))
    );
    assert_eq!(
        get(a, "deep"),
        Some(&map(vec![kv("x", map(vec![kv("y", i(1))]))]))
    );
    assert_eq!(
        get(a, "list"),
        Some(&list(vec![
            i(1),
            s("x"),
            f(2.5),
            b(true),
            AnyValue::default()
        ]))
    );
    assert_eq!(
        get(a, "m"),
        Some(&map(vec![kv("k", s("v")), kv("n", list(vec![i(1)]))]))
    );
    assert_eq!(
        rec.severity_text, "WARN",
        "a wrongly typed value leaves the field"
    );
    assert_eq!(rec.severity_number, 13);
    assert!(get(a, "http.method").is_none());

    let mut rec = record();
    run(
        &mut rec,
        &[r#"delete_matching_keys(attributes, "^http\\..*")"#],
    )
    .unwrap();
    assert!(rec.attributes.iter().all(|kv| !kv.key.starts_with("http.")));
    assert_eq!(rec.attributes.len(), 5);

    let mut rec = record();
    run(
        &mut rec,
        &[r#"keep_keys(attributes, ["count", "flag", "nope"])"#],
    )
    .unwrap();
    assert_eq!(rec.attributes, vec![kv("count", i(3)), kv("flag", b(true))]);

    let mut rec = record();
    run(
        &mut rec,
        &[r#"keep_matching_keys(attributes, "(?i).*PATH.*")"#],
    )
    .unwrap();
    assert_eq!(
        rec.attributes,
        vec![kv("http.path", s("/user/123/list/456"))]
    );

    let mut rec = record();
    run(&mut rec, &[r#"limit(attributes, 2, ["flag"])"#]).unwrap();
    assert_eq!(rec.attributes.len(), 2);
    assert!(get(&rec.attributes, "flag").is_some(), "priority keys stay");
    let mut rec = record();
    run(&mut rec, &[r#"limit(attributes, 100, [])"#]).unwrap();
    assert_eq!(rec.attributes.len(), 7);

    for (strategy, a_want, z_want) in [
        ("insert", s("keep"), Some(i(2))),
        ("update", f(1.0), None),
        ("upsert", f(1.0), Some(i(2))),
    ] {
        let mut rec = record();
        run(
            &mut rec,
            &[
                r#"set(attributes["a"], "keep")"#,
                &format!(r#"merge_maps(attributes, {{"a": 1.0, "z": 2}}, "{strategy}")"#),
            ],
        )
        .unwrap();
        assert_eq!(get(&rec.attributes, "a"), Some(&a_want), "{strategy}");
        assert_eq!(get(&rec.attributes, "z").cloned(), z_want, "{strategy}");
    }
    let mut rec = record();
    run(
        &mut rec,
        &[r#"merge_maps(attributes, ParseJSON("{\"j\":\"s\"}"), "upsert")"#],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "j"), Some(&s("s")));

    let mut rec = record();
    let e = run(&mut rec, &[r#"delete_key(attributes["count"], "x")"#]).unwrap_err();
    assert!(e.msg.contains("expected pcommon.Map"), "{e}");
}

#[test]
fn replace_editors() {
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"replace_pattern(attributes["http.path"], "\\d+", "{id}")"#,
            r#"replace_pattern(body, "user=(\\w+)", "user=$1-x")"#,
            r#"replace_pattern(attributes["count"], "3", "4")"#,
        ],
    )
    .unwrap();
    assert_eq!(
        get(&rec.attributes, "http.path"),
        Some(&s("/user/{id}/list/{id}"))
    );
    assert_eq!(rec.body, Some(s("operation=login user=alice-x")));
    assert_eq!(
        get(&rec.attributes, "count"),
        Some(&i(3)),
        "non-strings are left alone"
    );

    // README: replace_pattern(metric.name, "^kube_([0-9A-Za-z]+_)", "k8s.$1.") (one `$` outside YAML)
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["name"], "kube_pod_status")"#,
            r#"replace_pattern(attributes["name"], "^kube_([0-9A-Za-z]+_)", "k8s.$1.")"#,
            r#"set(attributes["name2"], "kube_pod_status")"#,
            r#"replace_pattern(attributes["name2"], "^kube_([0-9A-Za-z]+_)", "$1.", SHA256, "k8s.%s")"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "name"), Some(&s("k8s.pod_.status")));
    assert_eq!(
        get(&rec.attributes, "name2"),
        Some(&s(&format!(
            "k8s.{}status",
            super::super::functions::hash::sha256_hex(b"pod_.")
        )))
    );

    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["p1"], "/account/1234")"#,
            r#"set(attributes["kube_pod"], "v")"#,
            r#"replace_all_patterns(attributes, "value", "/account/\\d{4}", "/account/{accountId}")"#,
            r#"replace_all_patterns(attributes, "key", "^kube_([0-9A-Za-z]+)", "k8s.$1")"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "p1"), Some(&s("/account/{accountId}")));
    assert_eq!(get(&rec.attributes, "k8s.pod"), Some(&s("v")));
    assert!(get(&rec.attributes, "kube_pod").is_none());

    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"replace_match(attributes["http.path"], "/user/*/list/*", "/user/{userId}/list/{listId}")"#,
            r#"set(attributes["other"], "/user/1/list/2")"#,
            r#"set(attributes["no"], "/user/1/x/2")"#,
        ],
    )
    .unwrap();
    assert_eq!(
        get(&rec.attributes, "http.path"),
        Some(&s("/user/{userId}/list/{listId}"))
    );
    run(
        &mut rec,
        &[r#"replace_all_matches(attributes, "/user/*/list/*", "X", SHA256, "/user/%s")"#],
    )
    .unwrap();
    let want = format!("/user/{}", super::super::functions::hash::sha256_hex(b"X"));
    assert_eq!(get(&rec.attributes, "other"), Some(&s(&want)));
    assert_eq!(get(&rec.attributes, "no"), Some(&s("/user/1/x/2")));

    let mut rec = record();
    let e = run(
        &mut rec,
        &[r#"replace_pattern(body, "a", "b", SHA256, "%s %d")"#],
    )
    .unwrap_err();
    assert!(e.msg.contains("replacementFormat"), "{e}");
}

#[test]
fn glob_matches_as_filepath_match() {
    use super::super::functions::editors_glob as g;
    let cases = [
        ("/user/*/list/*", "/user/1/list/2", true),
        ("/user/*/list/*", "/user/1/2/list/3", false),
        ("a?c", "abc", true),
        ("a[b-d]c", "acc", true),
        ("a[^b-d]c", "acc", false),
        ("a\\*c", "a*c", true),
        ("*", "", true),
        ("*.log", "x.log", true),
    ];
    for (p, s, want) in cases {
        assert_eq!(g(p, s), Some(want), "{p} {s}");
    }
}

#[test]
fn truncate_flatten_append_delete_index_stringify() {
    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["cjk"], "一二")"#,
            r#"set(attributes["cjk2"], "一二")"#,
            r#"truncate_all(attributes, 4)"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "http.path"), Some(&s("/use")));
    assert_eq!(
        get(&rec.attributes, "cjk"),
        Some(&s("一")),
        "cut at a character boundary"
    );
    let mut rec = record();
    run(
        &mut rec,
        &[r#"truncate_all(attributes, 6, truncation_marker = "...")"#],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "http.path"), Some(&s("/us...")));
    assert_eq!(get(&rec.attributes, "http.method"), Some(&s("GET")));

    // flatten README example
    let mut rec = LogRecord {
        attributes: vec![
            kv("name", s("test")),
            kv(
                "address",
                map(vec![kv("street", s("first")), kv("house", i(1234))]),
            ),
            kv("occupants", list(vec![s("user 1"), s("user 2")])),
        ],
        ..Default::default()
    };
    let orig = rec.attributes.clone();
    run(&mut rec, &["flatten(attributes)"]).unwrap();
    assert_eq!(
        rec.attributes,
        vec![
            kv("name", s("test")),
            kv("address.street", s("first")),
            kv("address.house", i(1234)),
            kv("occupants.0", s("user 1")),
            kv("occupants.1", s("user 2")),
        ]
    );
    rec.attributes = orig;
    run(&mut rec, &[r#"flatten(attributes, "app")"#]).unwrap();
    assert_eq!(
        get(&rec.attributes, "app.address.street"),
        Some(&s("first"))
    );
    assert_eq!(get(&rec.attributes, "app.occupants.1"), Some(&s("user 2")));
    let mut rec = LogRecord {
        attributes: vec![kv(
            "0",
            map(vec![kv(
                "1",
                map(vec![kv(
                    "2",
                    map(vec![kv("3", map(vec![kv("4", s("value"))]))]),
                )]),
            )]),
        )],
        ..Default::default()
    };
    run(&mut rec, &["flatten(attributes, depth=2)"]).unwrap();
    assert_eq!(
        rec.attributes,
        vec![kv(
            "0.1.2",
            map(vec![kv("3", map(vec![kv("4", s("value"))]))])
        )]
    );

    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"append(attributes["tags"], "c")"#,
            r#"append(attributes["new"], values = ["x", "y"])"#,
            r#"append(attributes["http.method"], "POST")"#,
        ],
    )
    .unwrap();
    assert_eq!(
        get(&rec.attributes, "tags"),
        Some(&list(vec![s("a"), s("b"), s("c")]))
    );
    assert_eq!(
        get(&rec.attributes, "new"),
        Some(&list(vec![s("x"), s("y")]))
    );
    assert_eq!(
        get(&rec.attributes, "http.method"),
        Some(&list(vec![s("GET"), s("POST")]))
    );
    assert!(
        log_parser()
            .parse_statement(r#"append(attributes["x"])"#)
            .is_err()
    );

    let mut rec = record();
    run(
        &mut rec,
        &[
            r#"set(attributes["l"], [0, 1, 2, 3, 4])"#,
            r#"delete_index(attributes["l"], 0)"#,
            r#"delete_index(attributes["l"], Len(attributes["l"]) - 1)"#,
            r#"delete_index(attributes["l"], 0, 2)"#,
        ],
    )
    .unwrap();
    assert_eq!(get(&rec.attributes, "l"), Some(&list(vec![i(3)])));
    let e = run(&mut rec, &[r#"delete_index(attributes["l"], 5)"#]).unwrap_err();
    assert!(e.msg.contains("out of bounds"), "{e}");

    let mut rec = record();
    run(&mut rec, &["stringify_all(attributes)"]).unwrap();
    assert_eq!(get(&rec.attributes, "count"), Some(&s("3")));
    assert_eq!(get(&rec.attributes, "ratio"), Some(&s("1.5")));
    assert_eq!(get(&rec.attributes, "flag"), Some(&s("true")));
    assert_eq!(get(&rec.attributes, "tags"), Some(&s(r#"["a","b"]"#)));
}

#[test]
fn function_names_as_arguments() {
    let mut rec = record();
    run(
        &mut rec,
        &[r#"replace_pattern(body, "user=(\\w+)", "$1", MD5)"#],
    )
    .unwrap();
    assert_eq!(
        rec.body,
        Some(s(&format!(
            "operation=login {}",
            super::super::functions::hash::md5_hex(b"alice")
        )))
    );
}

#[test]
fn time_reads_a_trailing_zone_abbreviation_as_go() {
    // README examples; an abbreviation the (UTC) location does not know reads as UTC
    let cases = [
        (
            r#"UnixSeconds(Time("2023-05-26 12:34:56 HST", "%Y-%m-%d %H:%M:%S %Z"))"#,
            1_685_104_496,
        ),
        (
            r#"UnixSeconds(Time("1986-10-01T00:17:33 MST", "%Y-%m-%dT%H:%M:%S %Z"))"#,
            528_509_853,
        ),
        (
            r#"UnixSeconds(Time("2012-11-01T22:08:41+0000 EST", "%Y-%m-%dT%H:%M:%S%z %Z"))"#,
            1_351_807_721,
        ),
        (
            r#"UnixSeconds(Time("2023-05-26 12:34:56 UTC", "%Y-%m-%d %H:%M:%S %Z"))"#,
            1_685_104_496,
        ),
    ];
    for (e, want) in cases {
        assert_eq!(eval(e).unwrap(), Value::Int(want), "{e}");
    }
}
