//! Config sources (`file:`, `env:`, `yaml:` URIs) and `${...}` expansion inside values, as Go's
//! confmap resolver does it (confmap/resolver.go, confmap/expand.go, provider/envprovider).

use std::sync::LazyLock;

use regex::Regex;

use crate::{ConfigError, Value};

/// How environment variables are looked up (injectable for tests).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Go's `envvar.ValidationPattern`.
pub const ENV_NAME_PATTERN: &str = "^[a-zA-Z_][a-zA-Z0-9_]*$";

/// Maximum number of expansion passes on one value (Go: 1000).
const MAX_PASSES: usize = 1000;

/// Maximum nesting of maps/lists produced by whole-value references (`${file:x.yaml}` whose
/// content references more files). Go's limit is the pass count alone, but Go's stacks grow;
/// ours do not, so nesting is bounded well below it with the same message.
const MAX_NESTING: usize = 64;

static ENV_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(ENV_NAME_PATTERN).expect("constant regex"));
static URI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)^([A-Za-z][A-Za-z0-9+.\-]+):(.*)$").expect("constant regex"));

/// Splits `scheme:opaque`; the scheme has at least two characters so that `C:\x` is a path.
pub fn split_uri(uri: &str) -> Option<(&str, &str)> {
    let caps = URI.captures(uri)?;
    Some((caps.get(1)?.as_str(), caps.get(2)?.as_str()))
}

/// Fetches the text behind `scheme:opaque`. `uri` is only used in messages.
pub fn retrieve(
    scheme: &str,
    opaque: &str,
    uri: &str,
    env: EnvLookup<'_>,
) -> Result<String, String> {
    match scheme {
        "env" => {
            let (name, default) = match opaque.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (opaque, None),
            };
            if !ENV_NAME.is_match(name) {
                return Err(format!(
                    "environment variable {name:?} has invalid name: must match regex {ENV_NAME_PATTERN}"
                ));
            }
            match env(name) {
                Some(v) => {
                    if v.is_empty() {
                        tracing::info!(name = %name, "Configuration references empty environment variable");
                    }
                    Ok(v)
                }
                None => match default {
                    Some(d) => Ok(d.to_string()),
                    None => {
                        tracing::warn!(name = %name, "Configuration references unset environment variable");
                        Ok(String::new())
                    }
                },
            }
        }
        "file" => std::fs::read_to_string(opaque)
            .map_err(|e| format!("unable to read the file {opaque}: {e}")),
        "yaml" => Ok(opaque.to_string()),
        "http" | "https" => Err(format!(
            "scheme {scheme:?} is not supported in this build (uri {uri:?}): fetch the file and pass it with --config=file:..."
        )),
        _ => Err(format!(
            "scheme {scheme:?} is not supported for uri {uri:?}"
        )),
    }
}

/// Expands every string scalar of `value` (keys are left alone), then turns `$$` into `$`.
pub fn expand_tree(value: Value, path: &str, env: EnvLookup<'_>) -> Result<Value, ConfigError> {
    let mut passes = 0;
    expand_node(value, path, env, &mut passes, 0)
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}::{key}")
    }
}

fn expand_node(
    value: Value,
    path: &str,
    env: EnvLookup<'_>,
    passes: &mut usize,
    depth: usize,
) -> Result<Value, ConfigError> {
    Ok(match value {
        Value::String(s) => {
            // Each scalar gets its own budget; nested maps from `${file:...}` share it.
            let mut own = *passes;
            expand_scalar(s, path, env, &mut own, depth)?
        }
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    let p = child(path, &k);
                    expand_node(v, &p, env, passes, depth).map(|v| (k, v))
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Seq(items) => Value::Seq(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| expand_node(v, &child(path, &i.to_string()), env, passes, depth))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

/// Finds the next unescaped `${...}`: the innermost one (last `${` before the first `}`),
/// skipping references preceded by an odd run of `$`. Returns the byte offsets of `$` and `}`.
fn find_reference(text: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    loop {
        let close = from + text[from..].find('}')?;
        if let Some(open) = text[from..close].rfind("${").map(|o| o + from) {
            let dollars = text[..open]
                .bytes()
                .rev()
                .take_while(|b| *b == b'$')
                .count();
            if dollars % 2 == 0 {
                return Some((open, close));
            }
        }
        from = close + 1;
    }
}

fn expand_scalar(
    text: String,
    path: &str,
    env: EnvLookup<'_>,
    passes: &mut usize,
    depth: usize,
) -> Result<Value, ConfigError> {
    let err = |m: String| ConfigError::new(path, m);
    let mut text = text;
    loop {
        let Some((open, close)) = find_reference(&text) else {
            return Ok(Value::String(text.replace("$$", "$")));
        };
        *passes += 1;
        if *passes >= MAX_PASSES {
            return Err(err("too many recursive expansions".to_string()));
        }
        let reference = &text[open..=close];
        let inner = &text[open + 2..close];
        let uri = if inner.contains(':') {
            inner.to_string()
        } else {
            format!("env:{inner}")
        };
        let (scheme, opaque) =
            split_uri(&uri).ok_or_else(|| err(format!("invalid uri: {uri:?}")))?;
        if opaque.contains('$') {
            return Err(err(format!(
                "the uri {uri:?} contains unsupported characters ('$')"
            )));
        }
        let raw = retrieve(scheme, opaque, &uri, env).map_err(err)?;
        // Text that is not valid YAML is used verbatim as a string (Go NewRetrievedFromYAML).
        let typed = Value::from_yaml_str(&raw).unwrap_or_else(|_| Value::String(raw.clone()));

        if open == 0 && close + 1 == text.len() {
            match typed {
                Value::String(_) => text = raw,
                Value::Map(_) | Value::Seq(_) if depth >= MAX_NESTING => {
                    return Err(err("too many recursive expansions".to_string()));
                }
                Value::Map(_) | Value::Seq(_) => {
                    return expand_node(typed, path, env, passes, depth + 1);
                }
                scalar => {
                    return Ok(Value::Expanded {
                        raw: raw.replace("$$", "$"),
                        typed: Box::new(scalar),
                    });
                }
            }
        } else {
            if matches!(typed, Value::Map(_) | Value::Seq(_)) {
                return Err(err(format!(
                    "expanding {reference}: retrieved value does not have unambiguous string representation: {}",
                    typed.kind()
                )));
            }
            text = format!("{}{}{}", &text[..open], raw, &text[close + 1..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn expand(s: &str, vars: &[(&str, &str)]) -> Result<Value, ConfigError> {
        expand_tree(Value::String(s.to_string()), "k", &env(vars))
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    #[test]
    fn env_reference_with_and_without_scheme() {
        assert_eq!(expand("${env:HOST}", &[("HOST", "db")]).unwrap(), s("db"));
        assert_eq!(expand("${HOST}", &[("HOST", "db")]).unwrap(), s("db"));
        assert_eq!(
            expand(
                "http://${HOST}:4317/${env:P}",
                &[("HOST", "db"), ("P", "x")]
            )
            .unwrap(),
            s("http://db:4317/x")
        );
    }

    #[test]
    fn env_default_used_only_when_unset() {
        assert_eq!(expand("${env:X:-fallback}", &[]).unwrap(), s("fallback"));
        assert_eq!(expand("a${env:X:-fallback}", &[("X", "")]).unwrap(), s("a"));
        assert_eq!(
            expand("${env:X:-fallback}", &[("X", "set")]).unwrap(),
            s("set")
        );
        // The default may itself contain ':' and '-'.
        assert_eq!(
            expand("${env:X:-http://a:1}", &[]).unwrap(),
            s("http://a:1")
        );
    }

    #[test]
    fn unset_env_without_default_is_empty() {
        assert_eq!(expand("a${env:NOPE}b", &[]).unwrap(), s("ab"));
        assert_eq!(
            expand("${env:NOPE}", &[]).unwrap(),
            Value::Expanded {
                raw: String::new(),
                typed: Box::new(Value::Null)
            }
        );
    }

    #[test]
    fn invalid_env_name_is_rejected() {
        let e = expand("${env:1BAD}", &[]).unwrap_err();
        assert_eq!(e.path, "k");
        assert_eq!(
            e.message,
            "environment variable \"1BAD\" has invalid name: must match regex ^[a-zA-Z_][a-zA-Z0-9_]*$"
        );
        assert!(
            expand("${env:A-B}", &[])
                .unwrap_err()
                .message
                .contains("\"A-B\" has invalid name")
        );
    }

    #[test]
    fn dollar_dollar_escapes_reference() {
        assert_eq!(expand("$${env:X}", &[("X", "v")]).unwrap(), s("${env:X}"));
        assert_eq!(expand("cost $$5", &[]).unwrap(), s("cost $5"));
        // An even run of '$' is an escaped '$' followed by a real reference.
        assert_eq!(expand("$$${env:X}", &[("X", "v")]).unwrap(), s("$v"));
        // An escaped reference does not stop later references from expanding.
        assert_eq!(
            expand("$${env:X}-${env:X}", &[("X", "v")]).unwrap(),
            s("${env:X}-v")
        );
    }

    #[test]
    fn naked_dollar_name_is_not_expanded() {
        assert_eq!(
            expand("$HOME/x", &[("HOME", "/root")]).unwrap(),
            s("$HOME/x")
        );
    }

    #[test]
    fn expansion_is_recursive() {
        assert_eq!(
            expand("${env:A}", &[("A", "${env:B}"), ("B", "deep")]).unwrap(),
            s("deep")
        );
        assert_eq!(
            expand("x-${env:A}", &[("A", "${env:B}"), ("B", "deep")]).unwrap(),
            s("x-deep")
        );
        // Innermost first: the variable's name can come from another variable.
        assert_eq!(
            expand("${env:${env:WHICH}}", &[("WHICH", "B"), ("B", "chosen")]).unwrap(),
            s("chosen")
        );
    }

    #[test]
    fn self_reference_stops_with_too_many_recursive_expansions() {
        let e = expand("${env:A}", &[("A", "${env:A}")]).unwrap_err();
        assert_eq!(e.message, "too many recursive expansions");
    }

    #[test]
    fn whole_reference_is_typed_but_keeps_its_text() {
        assert_eq!(
            expand("${env:N}", &[("N", "0123")]).unwrap().as_str(),
            Some("0123")
        );
        assert_eq!(
            expand("${env:N}", &[("N", "123")]).unwrap().as_i64(),
            Some(123)
        );
        assert_eq!(
            expand("${env:B}", &[("B", "true")]).unwrap().as_bool(),
            Some(true)
        );
        // A YAML map from a variable becomes a map.
        let v = expand("${env:M}", &[("M", "{a: 1}")]).unwrap();
        assert_eq!(v.get("a").and_then(Value::as_i64), Some(1));
    }

    #[test]
    fn map_inside_inline_reference_is_an_error() {
        let e = expand("x ${env:M}", &[("M", "{a: 1}")]).unwrap_err();
        assert!(e.message.starts_with("expanding ${env:M}: retrieved value does not have unambiguous string representation"), "{e}");
    }

    #[test]
    fn file_reference_reads_the_file() {
        let dir =
            std::env::temp_dir().join(format!("ferrotel-config-expand-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "s3cret").unwrap();
        let v = expand(&format!("Bearer ${{file:{}}}", f.display()), &[]).unwrap();
        assert_eq!(v, s("Bearer s3cret"));
        let missing = expand("${file:/nonexistent/ferrotel}", &[]).unwrap_err();
        assert!(
            missing
                .message
                .starts_with("unable to read the file /nonexistent/ferrotel"),
            "{missing}"
        );
    }

    #[test]
    fn self_including_file_stops_with_too_many_recursive_expansions() {
        let dir = std::env::temp_dir().join(format!("ferrotel-config-loop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("self.yaml");
        std::fs::write(&f, format!("again: ${{file:{}}}", f.display())).unwrap();
        let reference = format!("${{file:{}}}", f.display());
        // Runs on the test thread's small (2 MiB) stack: nesting must be bounded.
        let e = expand(&reference, &[]).unwrap_err();
        assert_eq!(e.message, "too many recursive expansions");
        assert!(e.path.starts_with("k::again::again"), "{}", e.path);
    }

    /// Records the message and `name` field of every event.
    #[derive(Default, Clone)]
    struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<(tracing::Level, String)>>>);

    impl tracing::Subscriber for Recorder {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                    self.0.push_str(&format!("{}={:?};", f.name(), v));
                }
            }
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), fields.0));
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn unset_env_without_default_logs_a_warning() {
        let rec = Recorder::default();
        tracing::subscriber::with_default(rec.clone(), || {
            expand("${env:MISSING_ONE}", &[]).unwrap();
            expand("${env:MISSING_TWO:-d}", &[]).unwrap();
        });
        let events = rec.0.lock().unwrap().clone();
        assert_eq!(
            events,
            vec![(
                tracing::Level::WARN,
                "message=Configuration references unset environment variable;name=MISSING_ONE;"
                    .to_string()
            )]
        );
    }

    #[test]
    fn unsupported_and_invalid_schemes() {
        assert_eq!(
            expand("${foo:bar}", &[]).unwrap_err().message,
            "scheme \"foo\" is not supported for uri \"foo:bar\""
        );
        assert!(
            expand("${https://x/y}", &[])
                .unwrap_err()
                .message
                .contains("not supported in this build")
        );
        assert_eq!(
            expand("${x:y}", &[]).unwrap_err().message,
            "invalid uri: \"x:y\""
        );
        assert_eq!(
            expand("${env:$X}", &[]).unwrap_err().message,
            "the uri \"env:$X\" contains unsupported characters ('$')"
        );
    }

    #[test]
    fn unclosed_or_empty_braces_stay_literal() {
        assert_eq!(expand("${env:X", &[("X", "v")]).unwrap(), s("${env:X"));
        assert_eq!(expand("{a} }", &[]).unwrap(), s("{a} }"));
    }
}
