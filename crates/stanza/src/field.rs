//! Field references into an entry (Go `entry.Field`): `body`, `body.a.b`,
//! `attributes["log.file.path"]`, `resource.x`, with Go's parsing errors and its get / set
//! (a map value merges) / delete semantics.

use std::fmt;

use serde::{Deserialize, Deserializer, de};

use crate::entry::Entry;
use crate::value::{Key, Map, Value};

/// Which part of the entry a field starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    Body,
    Attributes,
    Resource,
}

/// A parsed field reference. `attributes` / `resource` without keys are only accepted
/// through [`RootableField`] (Go: "cannot be referenced without subfield").
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    root: Root,
    keys: Vec<Key>,
}

/// A field that may also name the whole `attributes` or `resource` map (`parse_to`,
/// `remove.field`, `retain.fields`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RootableField(pub Field);

impl Field {
    /// `body`.
    pub const fn body() -> Field {
        Field {
            root: Root::Body,
            keys: Vec::new(),
        }
    }

    /// The whole `attributes` map (only meaningful where rootable fields are allowed).
    pub const fn attributes_root() -> Field {
        Field {
            root: Root::Attributes,
            keys: Vec::new(),
        }
    }

    pub fn new(root: Root, keys: &[&str]) -> Field {
        Field {
            root,
            keys: keys.iter().map(|k| Key::named(k)).collect(),
        }
    }

    pub fn attribute(key: &str) -> Field {
        Field::new(Root::Attributes, &[key])
    }

    pub fn resource(key: &str) -> Field {
        Field::new(Root::Resource, &[key])
    }

    /// Parses a non-rootable field, with Go's error texts.
    pub fn parse(s: &str) -> Result<Field, String> {
        parse_field(s, false)
    }

    pub fn root(&self) -> Root {
        self.root
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn is_root(&self) -> bool {
        self.keys.is_empty()
    }

    /// The value at this field. `attributes` / `resource` roots are maps, not values, and
    /// answer `None` here; use [`Field::get_map`] for them.
    pub fn get<'e>(&self, e: &'e Entry) -> Option<&'e Value> {
        let (first, rest) = match self.root {
            Root::Body => {
                let mut cur = &e.body;
                for k in &self.keys {
                    cur = cur.as_map()?.get_key(k)?;
                }
                return Some(cur);
            }
            Root::Attributes => (&e.attributes, &self.keys[..]),
            Root::Resource => (&e.resource, &self.keys[..]),
        };
        let (k0, rest) = rest.split_first()?;
        let mut cur = first.get_key(k0)?;
        for k in rest {
            cur = cur.as_map()?.get_key(k)?;
        }
        Some(cur)
    }

    /// The map a rootable field names when it is a whole `attributes`/`resource` root.
    pub fn get_map<'e>(&self, e: &'e Entry) -> Option<&'e Map> {
        if !self.keys.is_empty() {
            return self.get(e)?.as_map();
        }
        match self.root {
            Root::Attributes => Some(&e.attributes),
            Root::Resource => Some(&e.resource),
            Root::Body => e.body.as_map(),
        }
    }

    /// [`Field::set`] of a copy of `m`, copying each pair straight into place (no
    /// intermediate map): for results kept in a cache.
    pub fn set_map_copy(&self, e: &mut Entry, m: &Map) {
        nested(self.root_map(e), &self.keys).merge_copy(m);
    }

    /// [`Field::set`] of the map `m` holds, its pairs moved out (it is left empty, with its
    /// room): for a parser's own map, reused from entry to entry.
    pub fn set_map_drain(&self, e: &mut Entry, m: &mut Map) {
        if matches!(self.root, Root::Body)
            && self.keys.is_empty()
            && !matches!(e.body, Value::Map(_))
        {
            // The body becomes the map (as `set` of a map value does).
            e.body = Value::Map(std::mem::take(m));
            return;
        }
        nested(self.root_map(e), &self.keys).merge_drain(m);
    }

    /// The map this field's path starts from: the attributes, the resource, or the body
    /// (made a map, replacing any other value).
    fn root_map<'e>(&self, e: &'e mut Entry) -> &'e mut Map {
        match self.root {
            Root::Attributes => &mut e.attributes,
            Root::Resource => &mut e.resource,
            Root::Body => {
                if !matches!(e.body, Value::Map(_)) {
                    e.body = Value::Map(Map::new());
                }
                match &mut e.body {
                    Value::Map(m) => m,
                    _ => unreachable!("body was just made a map"),
                }
            }
        }
    }

    /// Sets the value. A map value is merged into the map at this field (created, or
    /// replacing a non-map, as needed); other values replace. Setting a non-map on an
    /// `attributes`/`resource` root is Go's "cannot set attributes root".
    pub fn set(&self, e: &mut Entry, value: Value) -> Result<(), String> {
        let value = match value {
            Value::Map(mut m) => {
                self.set_map_drain(e, &mut m);
                return Ok(());
            }
            v => v,
        };
        if matches!(self.root, Root::Body) && self.keys.is_empty() {
            e.body = value;
            return Ok(());
        }
        let Some((last, parents)) = self.keys.split_last() else {
            return Err(match self.root {
                Root::Attributes => "cannot set attributes root".to_string(),
                _ => "cannot set resource root".to_string(),
            });
        };
        nested(self.root_map(e), parents).insert_key(last, value);
        Ok(())
    }

    /// `move`'s step: deletes this field and sets `to` to its value (`None` when this field
    /// does not exist). A key of the attributes or the resource moved to a key of either
    /// (the node agent's renames) goes straight from one map to the other: the same as
    /// [`Field::delete`] then [`Field::set`], without the value passing through both.
    pub fn move_to(&self, to: &Field, e: &mut Entry) -> Option<Result<(), String>> {
        if let ([from_key], [to_key]) = (&self.keys[..], &to.keys[..]) {
            let (a, r) = (&mut e.attributes, &mut e.resource);
            let (src, dst) = match (self.root, to.root) {
                (Root::Attributes, Root::Resource) => (a, Some(r)),
                (Root::Resource, Root::Attributes) => (r, Some(a)),
                (Root::Attributes, Root::Attributes) => (a, None),
                (Root::Resource, Root::Resource) => (r, None),
                _ => return self.delete(e).map(|v| to.set(e, v)),
            };
            return match src.move_key(from_key, dst, to_key) {
                Ok(true) => Some(Ok(())),
                Ok(false) => None,
                // A map value merges into the target's map: the general `set`.
                Err(v) => Some(to.set(e, v)),
            };
        }
        self.delete(e).map(|v| to.set(e, v))
    }

    /// Removes and returns the value. A whole `attributes`/`resource` root is taken out as
    /// a map value.
    pub fn delete(&self, e: &mut Entry) -> Option<Value> {
        let top = match self.root {
            Root::Body => {
                if self.keys.is_empty() {
                    return Some(std::mem::take(&mut e.body));
                }
                match &mut e.body {
                    Value::Map(m) => m,
                    _ => return None,
                }
            }
            Root::Attributes => &mut e.attributes,
            Root::Resource => &mut e.resource,
        };
        let Some((last, parents)) = self.keys.split_last() else {
            return Some(Value::Map(std::mem::take(top)));
        };
        let mut cur = top;
        for k in parents {
            cur = match cur.get_mut_key(k)? {
                Value::Map(m) => m,
                _ => return None,
            };
        }
        cur.remove_key(last)
    }

    /// The mutable value at this field (not for roots of attributes/resource).
    pub fn get_mut<'e>(&self, e: &'e mut Entry) -> Option<&'e mut Value> {
        let (top, keys) = match self.root {
            Root::Body => {
                let mut cur = &mut e.body;
                for k in &self.keys {
                    cur = match cur {
                        Value::Map(m) => m.get_mut_key(k)?,
                        _ => return None,
                    };
                }
                return Some(cur);
            }
            Root::Attributes => (&mut e.attributes, &self.keys[..]),
            Root::Resource => (&mut e.resource, &self.keys[..]),
        };
        let (k0, rest) = keys.split_first()?;
        let mut cur = top.get_mut_key(k0)?;
        for k in rest {
            cur = match cur {
                Value::Map(m) => m.get_mut_key(k)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

/// The map at `keys` below `top`, each created (or replacing a non-map) as needed: Go's
/// `getNestedMap` along the path.
fn nested<'m>(top: &'m mut Map, keys: &[Key]) -> &'m mut Map {
    keys.iter().fold(top, |cur, k| cur.nested_mut(k))
}

fn parse_field(s: &str, rootable: bool) -> Result<Field, String> {
    let mut keys = split_dot(s).map_err(|e| format!("splitting field: {e}"))?;
    let root = match keys[0].as_str() {
        "attributes" => Root::Attributes,
        "resource" => Root::Resource,
        "body" => Root::Body,
        _ => return Err("unrecognized prefix".to_string()),
    };
    if !rootable && keys.len() == 1 {
        match root {
            Root::Attributes => {
                return Err("attributes cannot be referenced without subfield".to_string());
            }
            Root::Resource => {
                return Err("resource cannot be referenced without subfield".to_string());
            }
            Root::Body => {}
        }
    }
    keys.remove(0);
    Ok(Field {
        root,
        keys: keys.iter().map(|k| Key::named(k)).collect(),
    })
}

/// Go's `fromJSONDot` state machine.
fn split_dot(s: &str) -> Result<Vec<String>, &'static str> {
    #[derive(PartialEq)]
    enum St {
        Begin,
        InBracket,
        InQuote,
        OutQuote,
        OutBracket,
        InToken,
    }
    let mut fields = Vec::new();
    let mut st = St::Begin;
    let mut quote = '"';
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match st {
            St::Begin => {
                if c == '[' {
                    st = St::InBracket;
                    continue;
                }
                start = i;
                st = St::InToken;
            }
            St::InBracket => {
                if c != '\'' && c != '"' {
                    return Err("strings in brackets must be surrounded by quotes");
                }
                st = St::InQuote;
                quote = c;
                start = i + 1;
            }
            St::InQuote => {
                if c == quote {
                    fields.push(s[start..i].to_string());
                    st = St::OutQuote;
                }
            }
            St::OutQuote => {
                if c != ']' {
                    return Err("found characters between closed quote and closing bracket");
                }
                st = St::OutBracket;
            }
            St::OutBracket => match c {
                '.' => {
                    st = St::InToken;
                    start = i + 1;
                }
                '[' => st = St::InBracket,
                _ => {
                    return Err(
                        "bracketed access must be followed by a dot or another bracketed access",
                    );
                }
            },
            St::InToken => {
                if c == '.' {
                    fields.push(s[start..i].to_string());
                    start = i + 1;
                } else if c == '[' {
                    fields.push(s[start..i].to_string());
                    st = St::InBracket;
                }
            }
        }
    }
    match st {
        St::InBracket | St::OutQuote => return Err("found unclosed left bracket"),
        St::InQuote => {
            return Err(if quote == '"' {
                "found unclosed double quote"
            } else {
                "found unclosed single quote"
            });
        }
        St::InToken => fields.push(s[start..].to_string()),
        _ => {}
    }
    if fields.is_empty() {
        return Err("fields size is 0");
    }
    Ok(fields)
}

impl fmt::Display for Field {
    /// Go's `toJSONDot`: dotted unless a key contains a dot, then all bracketed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.root {
            Root::Body => "body",
            Root::Attributes => "attributes",
            Root::Resource => "resource",
        })?;
        if self.keys.iter().any(|k| k.contains('.')) {
            for k in &self.keys {
                write!(f, "['{k}']")?;
            }
        } else {
            for k in &self.keys {
                write!(f, ".{k}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Field({self})")
    }
}

impl std::str::FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Field, String> {
        Field::parse(s)
    }
}

impl RootableField {
    pub fn parse(s: &str) -> Result<RootableField, String> {
        parse_field(s, true).map(RootableField)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        let s = String::deserialize(d)?;
        Field::parse(&s).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for RootableField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RootableField, D::Error> {
        let s = String::deserialize(d)?;
        RootableField::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    /// `move_to` leaves every entry as `delete` then `set` does, in the same key order:
    /// between and within the attributes and the resource (the direct path), to and from
    /// the body and nested keys (the general one), a map value (merged, not replaced), an
    /// existing target (replaced in place), a field onto itself, and a missing field.
    #[test]
    fn move_to_is_delete_then_set() {
        let fields = [
            "attributes.a",
            "attributes.b",
            "attributes.m",
            "attributes.gone",
            "resource.a",
            "resource.c",
            "resource.m",
            "body",
            "body.x",
            "attributes.m.k",
        ];
        let entry = || Entry {
            body: Value::Map(map! {"x" => "bx", "y" => 2}),
            attributes: map! {"a" => "aa", "b" => "ab", "m" => map! {"k" => "mk"}, "z" => 1},
            resource: map! {"c" => "rc", "a" => "ra", "m" => map! {"j" => "rj"}},
            ..Entry::default()
        };
        let mut direct = 0;
        for from in fields {
            for to in fields {
                let (f, t) = (Field::parse(from).unwrap(), Field::parse(to).unwrap());
                let mut want = entry();
                let want_r = f.delete(&mut want).map(|v| t.set(&mut want, v));
                let mut got = entry();
                let got_r = f.move_to(&t, &mut got);
                assert_eq!(got_r, want_r, "{from} -> {to}");
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{from} -> {to}");
                direct += usize::from(
                    f.keys.len() == 1
                        && t.keys.len() == 1
                        && f.root != Root::Body
                        && t.root != Root::Body,
                );
            }
        }
        assert!(direct > 30);
    }

    #[test]
    fn parses_field_syntax_like_go() {
        let ok: &[(&str, Root, &[&str])] = &[
            ("body", Root::Body, &[]),
            ("body.a.b", Root::Body, &["a", "b"]),
            ("attributes.x", Root::Attributes, &["x"]),
            (
                "attributes[\"log.file.path\"]",
                Root::Attributes,
                &["log.file.path"],
            ),
            (
                "resource['k8s.pod.name']",
                Root::Resource,
                &["k8s.pod.name"],
            ),
            ("body[\"a.b\"].c", Root::Body, &["a.b", "c"]),
            ("body.a['b.c']['d']", Root::Body, &["a", "b.c", "d"]),
        ];
        for (s, root, keys) in ok {
            let f = Field::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(f, Field::new(*root, keys), "{s}");
        }
    }

    #[test]
    fn rejects_bad_fields_with_go_errors() {
        let bad = [
            (
                "attributes",
                "attributes cannot be referenced without subfield",
            ),
            ("resource", "resource cannot be referenced without subfield"),
            ("foo", "unrecognized prefix"),
            ("$body.x", "unrecognized prefix"),
            ("", "splitting field: fields size is 0"),
            (
                "body[a]",
                "splitting field: strings in brackets must be surrounded by quotes",
            ),
            ("body['a'", "splitting field: found unclosed left bracket"),
            ("body['a", "splitting field: found unclosed single quote"),
            ("body[\"a", "splitting field: found unclosed double quote"),
            (
                "body['a'x]",
                "splitting field: found characters between closed quote and closing bracket",
            ),
            (
                "body['a']x",
                "splitting field: bracketed access must be followed by a dot or another bracketed access",
            ),
        ];
        for (s, want) in bad {
            assert_eq!(Field::parse(s).unwrap_err(), want, "{s:?}");
        }
        assert!(RootableField::parse("attributes").is_ok());
        assert!(RootableField::parse("resource").is_ok());
    }

    #[test]
    fn displays_as_go_json_dot() {
        assert_eq!(
            Field::parse("attributes[\"log.file.path\"]")
                .unwrap()
                .to_string(),
            "attributes['log.file.path']"
        );
        assert_eq!(
            Field::parse("body['a']['b']").unwrap().to_string(),
            "body.a.b"
        );
    }

    #[test]
    fn set_map_merges_and_non_map_replaces() {
        let mut e = Entry::with_body("line", 0);
        e.attributes.insert("a", Value::from(map! {"x" => 1i64}));
        Field::parse("attributes.a")
            .unwrap()
            .set(&mut e, map! {"y" => 2i64}.into())
            .unwrap();
        assert_eq!(
            e.attributes.get("a"),
            Some(&Value::Map(map! {"x" => 1i64, "y" => 2i64}))
        );
        // A map set on a non-map body replaces the body with a map.
        Field::body().set(&mut e, map! {"k" => "v"}.into()).unwrap();
        assert_eq!(e.body, Value::Map(map! {"k" => "v"}));
        // Setting a nested body key on a string body makes it a map.
        let mut e = Entry::with_body("line", 0);
        Field::parse("body.a.b")
            .unwrap()
            .set(&mut e, "v".into())
            .unwrap();
        assert_eq!(e.body, Value::Map(map! {"a" => map! {"b" => "v"}}));
        // Intermediate non-maps are overwritten with maps.
        let mut e = Entry::default();
        e.attributes.insert("a", "str".into());
        Field::parse("attributes.a.b")
            .unwrap()
            .set(&mut e, 1i64.into())
            .unwrap();
        assert_eq!(e.attributes.get("a"), Some(&Value::Map(map! {"b" => 1i64})));
        // A non-map on a root is refused.
        let root = RootableField::parse("attributes").unwrap().0;
        assert_eq!(
            root.set(&mut e, 1i64.into()).unwrap_err(),
            "cannot set attributes root"
        );
        root.set(&mut e, map! {"z" => true}.into()).unwrap();
        assert_eq!(e.attributes.get("z"), Some(&Value::Bool(true)));
    }

    #[test]
    fn get_and_delete_nested_values() {
        let mut e = Entry::with_body(map! {"a" => map! {"b" => "c"}}, 0);
        let f = Field::parse("body.a.b").unwrap();
        assert_eq!(f.get(&e), Some(&Value::from("c")));
        assert_eq!(Field::parse("body.a.x").unwrap().get(&e), None);
        assert_eq!(Field::parse("body.a.b.c").unwrap().get(&e), None);
        assert_eq!(f.delete(&mut e), Some(Value::from("c")));
        assert_eq!(f.get(&e), None);
        assert_eq!(f.delete(&mut e), None);
        let root = RootableField::parse("resource").unwrap().0;
        e.resource.insert("r", 1i64.into());
        assert_eq!(root.delete(&mut e), Some(Value::Map(map! {"r" => 1i64})));
        assert!(e.resource.is_empty());
    }
}
