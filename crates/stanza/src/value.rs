//! The values a log entry holds (body, attribute and resource values): the Go stanza entry's
//! `any` restricted to what parsers produce and pdata can carry (nil, bool, int64, float64,
//! string, bytes, map, list), shaped for a hot path where a line passes ~10 operators.
//!
//! Maps are small (a handful of attributes), so [`Map`] is a vector of pairs searched
//! linearly: cheaper than hashing at these sizes and keeps insertion order for stable
//! output. Keys are [`Key`]s so that the keys an operator writes on every entry (regex
//! group names, `log.iostream`) are shared, not allocated per entry. String values are
//! [`Str`]s, owned or shared, so that the values every entry of a file carries (the file's
//! attributes, cached parse results, configured values) are shared, not copied per entry.

use std::fmt;
use std::sync::Arc;

/// A map key.
///
/// Keys named in configuration (field paths, regex group names, CSV headers, ...) are
/// interned for the life of the process ([`Key::named`]): cloning or dropping one copies a
/// pointer and touches no reference count. An entry passes some 15 keys through about 10
/// operators, and the atomic counts of shared keys were a measurable part of the filelog
/// path. Keys read from data (JSON object keys, ...) are shared with a reference count, so
/// that they are freed with the data.
#[derive(Clone)]
pub struct Key(KeyRepr);

/// Each form keeps its text's bloom bit ([`Key::bloom_bit`]) in the byte after the tag, where
/// it costs no room (a `Key` is 24 bytes either way).
#[derive(Clone)]
enum KeyRepr {
    Named(&'static str, u8),
    Shared(Arc<str>, u8),
}

const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    /// The interned key for a name from configuration. Each distinct name is kept once for
    /// the life of the process (a configuration holds a bounded number of them; reloading
    /// the same configuration reuses them).
    pub fn named(name: &str) -> Key {
        static NAMES: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashSet<&'static str>>,
        > = std::sync::OnceLock::new();
        let mut names = NAMES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(&n) = names.get(name) {
            return Key(KeyRepr::Named(n, bloom_index(n)));
        }
        let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
        names.insert(leaked);
        Key(KeyRepr::Named(leaked, bloom_index(leaked)))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            KeyRepr::Named(s, _) => s,
            KeyRepr::Shared(s, _) => s,
        }
    }

    /// The key's bit of 64 ([`bloom_index`]), kept in the key.
    #[inline]
    fn bloom_bit(&self) -> u64 {
        let (KeyRepr::Named(_, i) | KeyRepr::Shared(_, i)) = &self.0;
        1u64 << i
    }

    /// Whether both are the same key object (then they are equal without comparing text).
    pub fn ptr_eq(a: &Key, b: &Key) -> bool {
        let (a, b) = (a.as_str(), b.as_str());
        a.as_ptr() == b.as_ptr() && a.len() == b.len()
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key(KeyRepr::Shared(Arc::from(s), bloom_index(s)))
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        let i = bloom_index(&s);
        Key(KeyRepr::Shared(Arc::from(s), i))
    }
}

/// The bit of 64 a key's text picks (its length and last byte), so that equal keys have the
/// same bit whatever their form: a key whose bit is not in a map's union of bits is not in
/// that map.
fn bloom_index(s: &str) -> u8 {
    let s = s.as_bytes();
    let last = s.last().map_or(0, |&b| usize::from(b));
    ((s.len() * 5 + last) & 63) as u8
}

impl PartialEq for Key {
    /// Two interned keys are equal only when they are the same one (each name is interned
    /// once): no text is compared, as for most keys of an entry (configuration-named
    /// fields, regex groups, the receiver's `log.file.*`).
    fn eq(&self, other: &Key) -> bool {
        match (&self.0, &other.0) {
            (KeyRepr::Named(x, _), KeyRepr::Named(y, _)) => std::ptr::eq(*x, *y),
            _ => Key::ptr_eq(self, other) || pdata::text::same_str(self.as_str(), other.as_str()),
        }
    }
}

impl Eq for Key {}

/// A string value: owned when an operator made it for one entry, shared (reference counted)
/// when many entries carry the same text or a part of one text.
///
/// A node agent's entry carries about ten strings, and half of them are the same for every
/// line of a file: the file's path and name, the groups a cached `regex_parser` took from the
/// path, the values of `add` and of static attributes. The others are parts of the line: the
/// groups the container format's regex takes from it. As owned strings each was allocated and
/// copied for every line. A shared value is the whole or a part of a reference-counted text:
/// copying one or taking a part of one ([`Str::slice`]) copies no text, and equal shared
/// values compare by pointer first (grouping entries by resource compares them). Changing a
/// shared value ([`Str::make_mut`]) copies it first, so sharing is never visible.
#[derive(Clone)]
pub struct Str(StrRepr);

#[derive(Clone)]
enum StrRepr {
    Owned(String),
    /// `buf[start..start + len]`, on character boundaries (checked when made).
    Shared {
        buf: Arc<str>,
        start: u32,
        len: u32,
    },
}

impl Str {
    pub fn as_str(&self) -> &str {
        match &self.0 {
            StrRepr::Owned(s) => s,
            StrRepr::Shared { buf, start, len } => {
                let (a, b) = (*start as usize, *start as usize + *len as usize);
                debug_assert!(buf.get(a..b).is_some());
                // SAFETY: `start..start + len` lies within `buf` on character boundaries:
                // checked by every constructor of `Shared` (`Str::whole`, `Str::slice`).
                unsafe { buf.get_unchecked(a..b) }
            }
        }
    }

    /// The whole of a shared text (owned instead when it is too long to share, 4 GiB).
    fn whole(buf: Arc<str>) -> Str {
        match u32::try_from(buf.len()) {
            Ok(len) => Str(StrRepr::Shared { buf, start: 0, len }),
            Err(_) => Str(StrRepr::Owned(buf.to_string())),
        }
    }

    /// The text as an owned `String` (moved out when owned, copied when shared).
    pub fn into_string(self) -> String {
        match self.0 {
            StrRepr::Owned(s) => s,
            shared => Str(shared).as_str().to_string(),
        }
    }

    /// A value with this text whose clones share it (this one when it is shared already).
    pub fn shared(&self) -> Str {
        match &self.0 {
            StrRepr::Owned(s) => Str::whole(Arc::from(s.as_str())),
            StrRepr::Shared { .. } => self.clone(),
        }
    }

    /// Makes this value's clones share its text (copies it once when it is owned).
    pub fn share(&mut self) {
        if let StrRepr::Owned(s) = &self.0 {
            *self = Str::whole(Arc::from(s.as_str()));
        }
    }

    /// Whether clones share the text.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, StrRepr::Shared { .. })
    }

    /// The part `range` of this text: shared when this one is (no text is copied), else an
    /// owned copy. A range that is out of bounds or not on character boundaries gives "".
    pub fn slice(&self, range: std::ops::Range<usize>) -> Str {
        let Some(part) = self.as_str().get(range.clone()) else {
            return Str::default();
        };
        match &self.0 {
            StrRepr::Shared { buf, start, .. } => Str(StrRepr::Shared {
                buf: buf.clone(),
                // Within this part, which is within `buf`: both fit in u32.
                start: *start + range.start as u32,
                len: part.len() as u32,
            }),
            StrRepr::Owned(_) => Str::from(part),
        }
    }

    /// The text, to change in place (a shared text is copied first).
    pub fn make_mut(&mut self) -> &mut String {
        if let StrRepr::Shared { .. } = &self.0 {
            self.0 = StrRepr::Owned(self.as_str().to_string());
        }
        match &mut self.0 {
            StrRepr::Owned(s) => s,
            StrRepr::Shared { .. } => unreachable!("made owned above"),
        }
    }

    /// Whether both are the same part of one shared text (then they are equal without
    /// comparing it).
    pub fn ptr_eq(&self, other: &Str) -> bool {
        match (&self.0, &other.0) {
            (
                StrRepr::Shared { buf, start, len },
                StrRepr::Shared {
                    buf: b2,
                    start: s2,
                    len: l2,
                },
            ) => Arc::ptr_eq(buf, b2) && start == s2 && len == l2,
            _ => false,
        }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str(StrRepr::Owned(String::new()))
    }
}

impl From<String> for Str {
    fn from(s: String) -> Str {
        Str(StrRepr::Owned(s))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Str {
        Str(StrRepr::Owned(s.to_string()))
    }
}

impl From<Arc<str>> for Str {
    fn from(s: Arc<str>) -> Str {
        Str::whole(s)
    }
}

impl From<Str> for String {
    fn from(s: Str) -> String {
        s.into_string()
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        // Empty values (a group that did not take part) are common: see `pdata::text`.
        self.ptr_eq(other) || pdata::text::same_str(self.as_str(), other.as_str())
    }
}

impl Eq for Str {}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The traits of a type that stands for its text (`as_str`): it dereferences to, borrows as,
/// compares with, hashes, orders and prints as that `str`. [`Key`] and [`Str`] differ only in
/// how they hold the text and in their own equality (which may compare pointers first).
macro_rules! text_traits {
    ($t:ty) => {
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::borrow::Borrow<str> for $t {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl std::hash::Hash for $t {
            fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
                self.as_str().hash(h)
            }
        }

        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &$t) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $t {
            fn cmp(&self, other: &$t) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_traits!(Key);
text_traits!(Str);

/// One value of a log entry.
#[derive(Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Str),
    Bytes(Vec<u8>),
    Map(Map),
    List(Vec<Value>),
}

impl Value {
    /// The Go type name stanza's errors print for a value of this kind (`%T`).
    pub fn go_type(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::Map(_) => "map[string]interface {}",
            Value::List(_) => "[]interface {}",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The text of a string or byte value, as Go's `entry.Read` into a `string` accepts.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(std::borrow::Cow::Borrowed(s)),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b)),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Makes the strings in this value shared ([`Str::share`]), so that its clones copy
    /// none: for values copied into many entries (caches, configuration, file attributes).
    pub fn share_strings(&mut self) {
        match self {
            Value::Str(s) => s.share(),
            Value::Map(m) => m.share_strings(),
            Value::List(l) => l.iter_mut().for_each(Value::share_strings),
            _ => {}
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "bytes{b:?}"),
            Value::Map(m) => m.fmt(f),
            Value::List(l) => f.debug_list().entries(l).finish(),
        }
    }
}

impl fmt::Display for Value {
    /// Go's `%v` for the value (used in error messages and severity/text lookups).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("<nil>"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "{b:?}"),
            Value::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("]")
            }
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s.into())
    }
}
impl From<Str> for Value {
    fn from(s: Str) -> Value {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Map(m)
    }
}

/// A small insertion-ordered string-keyed map.
#[derive(Clone, Default)]
pub struct Map {
    entries: Vec<(Key, Value)>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(n: usize) -> Map {
        Map {
            entries: Vec::with_capacity(n),
        }
    }

    /// [`Value::share_strings`] for every value.
    pub fn share_strings(&mut self) {
        self.entries.iter_mut().for_each(|(_, v)| v.share_strings());
    }

    /// Pairs the map holds without growing.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of the `i`th pair in the map's order (as [`Map::iter`] gives them).
    #[inline]
    pub fn value_at(&self, i: usize) -> Option<&Value> {
        self.entries.get(i).map(|(_, v)| v)
    }

    #[inline]
    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| &**k == key)
    }

    /// [`Map::position`] by key, comparing interned keys without their text.
    #[inline]
    fn position_key(&self, key: &Key) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    /// [`Map::get`] by key (interned keys compare without their text).
    pub fn get_key(&self, key: &Key) -> Option<&Value> {
        self.position_key(key).map(|i| &self.entries[i].1)
    }

    /// [`Map::get_mut`] by key (interned keys compare without their text).
    pub fn get_mut_key(&mut self, key: &Key) -> Option<&mut Value> {
        self.position_key(key).map(|i| &mut self.entries[i].1)
    }

    /// Removes `key` (interned keys compare without their text), the last pair taking its
    /// place, as pdata's `Map.Remove` does: no shifting of the pairs after it. The order of
    /// the pairs is not Go's to keep in any case: a Go stanza entry's fields are a Go map,
    /// put into the log record in Go's random map order. This is how `move` and `remove`
    /// take fields out, four times per line on the node agent's path.
    pub fn remove_key(&mut self, key: &Key) -> Option<Value> {
        let i = self.position_key(key)?;
        Some(self.entries.swap_remove(i).1)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`, replacing (in place) a value already there.
    pub fn insert(&mut self, key: impl Into<Key> + AsRef<str>, value: Value) -> Option<Value> {
        match self.position(key.as_ref()) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((key.into(), value));
                None
            }
        }
    }

    /// Sets a shared key without allocating when the key is new.
    pub fn insert_key(&mut self, key: &Key, value: Value) -> Option<Value> {
        match self.position_key(key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.push_pair(key.clone(), value);
                None
            }
        }
    }

    /// Appends without looking for an existing key: only for keys known to be new
    /// (building a map from distinct names).
    pub fn push_unchecked(&mut self, key: Key, value: Value) {
        self.push_pair(key, value);
    }

    /// `entries.push((key, value))`, with the key and the value written into the new slot
    /// one after the other. `push` of the tuple assembled it on the stack from the key's and
    /// the value's parts (byte, word and quadword stores) and then copied it out in 16-byte
    /// loads, each spanning several of those stores: the CPU cannot forward such a load from
    /// its store buffer and waits for the stores to retire. That wait was half of
    /// `insert_key`'s samples on the node agent's path (`perf annotate`).
    #[inline(always)]
    fn push_pair(&mut self, key: Key, value: Value) {
        self.entries.reserve(1);
        let len = self.entries.len();
        // SAFETY: `reserve(1)` made room for a pair at `len`; both of its fields are written
        // before `set_len` makes the vector cover it, and nothing between can panic.
        unsafe {
            let slot = self.entries.as_mut_ptr().add(len);
            std::ptr::addr_of_mut!((*slot).0).write(key);
            std::ptr::addr_of_mut!((*slot).1).write(value);
            self.entries.set_len(len + 1);
        }
    }

    /// `move` of one key to another map (or to another key of this one): `from`'s value
    /// set at `to` in `dst` (this map when `None`), replacing a value there, and `from`'s
    /// pair removed as [`Map::remove_key`] removes it. The value is copied once, from its
    /// slot to the new one (see [`Map::push_pair`] for why the detour through the stack
    /// that `remove_key` + `insert_key` took cost). `Err` with the value when it is a map
    /// (a map merges into the target: the caller's general `set`), `Ok(false)` when `from`
    /// is not there.
    pub fn move_key(&mut self, from: &Key, dst: Option<&mut Map>, to: &Key) -> Result<bool, Value> {
        let Some(i) = self.position_key(from) else {
            return Ok(false);
        };
        if matches!(self.entries[i].1, Value::Map(_)) {
            return Err(self.entries.swap_remove(i).1);
        }
        let Some(dst) = dst else {
            // Within this map: the pair leaves, then the value lands (as remove then set).
            let v = self.entries.swap_remove(i).1;
            self.insert_key(to, v);
            return Ok(true);
        };
        let j = dst.position_key(to);
        if j.is_none() {
            dst.entries.reserve(1);
        }
        let last = self.entries.len() - 1;
        // SAFETY: `i` and `last` are in bounds of `self.entries`, `j` of `dst.entries`, and
        // `dst` is another vector (a `&mut` distinct from `self`). The value is moved by a
        // bitwise copy out of slot `i`, which is then overwritten by the last pair (or cut
        // off, when it is the last) without dropping its value; its key is read out and
        // dropped. A replaced value is dropped before the copy lands on it. A new slot in
        // `dst` has room (`reserve` above) and is covered by `set_len` only once both of
        // its fields are written. Between the copies nothing can panic (dropping a
        // `Value` or a `Key` does not).
        unsafe {
            let src = self.entries.as_mut_ptr();
            let value = std::ptr::addr_of!((*src.add(i)).1);
            match j {
                Some(j) => {
                    let target = std::ptr::addr_of_mut!((*dst.entries.as_mut_ptr().add(j)).1);
                    std::ptr::drop_in_place(target);
                    std::ptr::copy_nonoverlapping(value, target, 1);
                }
                None => {
                    let len = dst.entries.len();
                    let slot = dst.entries.as_mut_ptr().add(len);
                    std::ptr::addr_of_mut!((*slot).0).write(to.clone());
                    std::ptr::copy_nonoverlapping(value, std::ptr::addr_of_mut!((*slot).1), 1);
                    dst.entries.set_len(len + 1);
                }
            }
            let key = std::ptr::read(std::ptr::addr_of!((*src.add(i)).0));
            if i != last {
                std::ptr::copy_nonoverlapping(src.add(last), src.add(i), 1);
            }
            self.entries.set_len(last);
            drop(key);
        }
        Ok(true)
    }

    /// Removes `key` as [`Map::remove_key`] does (the last pair takes its place).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key)?;
        Some(self.entries.swap_remove(i).1)
    }

    /// The map at `key`, created (or replacing a non-map value) when needed: Go's
    /// `getNestedMap`.
    pub fn nested_mut(&mut self, key: &str) -> &mut Map {
        let i = match self.position(key) {
            Some(i) => {
                if !matches!(self.entries[i].1, Value::Map(_)) {
                    self.entries[i].1 = Value::Map(Map::new());
                }
                i
            }
            None => {
                self.entries.push((Key::from(key), Value::Map(Map::new())));
                self.entries.len() - 1
            }
        };
        match &mut self.entries[i].1 {
            Value::Map(m) => m,
            // The arm above made this entry a map.
            _ => unreachable!("nested_mut made the value a map"),
        }
    }

    /// Upserts every pair of `other` (Go's map merge of `Set` with a map value).
    pub fn merge(&mut self, mut other: Map) {
        self.merge_drain(&mut other);
    }

    /// [`Map::merge`] of `other`'s pairs, moved out of it: `other` is left empty with its
    /// room (a parser's map, reused from entry to entry).
    pub fn merge_drain(&mut self, other: &mut Map) {
        if self.entries.is_empty() && self.entries.capacity() < other.entries.len() {
            // Nothing here to keep: the two maps trade places (no pair is copied).
            std::mem::swap(self, other);
            return;
        }
        if self.has_none_of(other) {
            // No key is replaced (a parser's groups into attributes, usually): one copy of
            // all the pairs, instead of moving each through the stack.
            self.entries.append(&mut other.entries);
            return;
        }
        for (k, v) in other.entries.drain(..) {
            match self.position_key(&k) {
                Some(i) => self.entries[i].1 = v,
                None => self.entries.push((k, v)),
            }
        }
    }

    /// Whether no key of `other` is in this map (then merging appends all of its pairs at
    /// once instead of looking each up again).
    fn has_none_of(&self, other: &Map) -> bool {
        // Each key of `other` is looked up only when its bit is among this map's keys' bits:
        // n + m steps for the distinct names parsers add, instead of n x m comparisons.
        let bits = self
            .entries
            .iter()
            .fold(0u64, |acc, (k, _)| acc | k.bloom_bit());
        other
            .entries
            .iter()
            .all(|(k, _)| bits & k.bloom_bit() == 0 || self.position_key(k).is_none())
    }

    /// [`Map::merge`] of a copy of `other`, each pair copied straight into place.
    pub fn merge_copy(&mut self, other: &Map) {
        if self.has_none_of(other) {
            self.entries.extend_from_slice(&other.entries);
            return;
        }
        for (k, v) in &other.entries {
            match self.position_key(k) {
                Some(i) => self.entries[i].1 = v.clone(),
                None => self.entries.push((k.clone(), v.clone())),
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn retain(&mut self, mut f: impl FnMut(&str, &Value) -> bool) {
        self.entries.retain(|(k, v)| f(k, v));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl IntoIterator for Map {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<K: Into<Key> + AsRef<str>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl PartialEq for Map {
    /// Order-insensitive, as Go maps compare.
    fn eq(&self, other: &Map) -> bool {
        if self.len() != other.len() {
            return false;
        }
        // Maps built by the same operators have their keys in the same order (and often
        // the same shared key): compare pair by pair first, by key lookups only if not.
        let same_order = self
            .entries
            .iter()
            .zip(&other.entries)
            .all(|((ka, va), (kb, vb))| ka == kb && va == vb);
        same_order || self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

/// Builds a [`Map`] from `key => value` pairs (tests and static configs).
#[macro_export]
macro_rules! map {
    () => { $crate::Map::new() };
    ($($k:expr => $v:expr),+ $(,)?) => {{
        let mut m = $crate::Map::new();
        $( m.insert($k, $crate::Value::from($v)); )+
        m
    }};
}

/// The inverse of [`from_json`] (file attributes and checkpoints are JSON in fileconsumer):
/// bytes become their UTF-8 text (lossy), non-finite floats null.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.to_string()),
        Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
    }
}

/// Converts a decoded config value (YAML through serde) into an entry value: ints stay
/// ints, floats floats, maps and lists recursively (Go's mapstructure hands `add` the
/// YAML value with these types).
pub fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Float(u as f64)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::with_capacity(o.len());
            for (k, v) in o {
                m.push_unchecked(Key::from(k.as_str()), from_json(v));
            }
            Value::Map(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The all-new check answers as comparing every key would, for keys named in the
    /// configuration or made from data (equal texts in either form are equal keys), and for
    /// names whose bits collide ("ab"/"bb"... share a length and last byte).
    #[test]
    fn has_none_of_answers_as_comparing_every_key() {
        let names = [
            "time",
            "stream",
            "logtag",
            "log",
            "log.file.path",
            "uid",
            "ab",
            "bb",
            "cb",
            "",
            "namespace",
            "pod_name",
            "restart_count",
            "container_name",
            "k",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let (mut none, mut some) = (0, 0);
        for _ in 0..5000 {
            let map = |next: &mut dyn FnMut(usize) -> usize| {
                let mut m = Map::new();
                for _ in 0..next(6) {
                    let n = names[next(names.len())];
                    let k = if next(2) == 0 {
                        Key::named(n)
                    } else {
                        Key::from(n)
                    };
                    m.push_unchecked(k, Value::Nil);
                }
                m
            };
            let (a, b) = (map(&mut next), map(&mut next));
            let naive = b.keys().all(|k| a.keys().all(|j| j.as_str() != k.as_str()));
            assert_eq!(a.has_none_of(&b), naive, "{a:?} / {b:?}");
            if naive { none += 1 } else { some += 1 }
        }
        assert!(none > 1000 && some > 1000, "{none} / {some}");
    }

    #[test]
    fn move_key_moves_one_value_as_remove_then_insert_would() {
        let line: Arc<str> = Arc::from("a-shared-line");
        let shared = || Value::Str(Str::from(line.clone()).slice(2..8));
        let keys: Vec<Key> = ["a", "b", "c", "d"].iter().map(|k| Key::named(k)).collect();
        let source = || {
            let mut m = Map::new();
            m.insert_key(&keys[0], shared());
            m.insert_key(&keys[1], Value::Int(1));
            m.insert_key(&keys[2], Value::Map(Map::new()));
            m.insert_key(&keys[3], "owned".into());
            m
        };
        // Each case against remove_key + insert_key on copies of the same maps.
        for from in 0..4 {
            for to in 0..4 {
                for target_has_it in [false, true] {
                    for same_map in [false, true] {
                        let (mut a, mut b) = (source(), Map::new());
                        if target_has_it {
                            b.insert_key(&keys[to], Value::Bool(true));
                        }
                        let (mut ea, mut eb) = (a.clone(), b.clone());
                        let got = if same_map {
                            a.move_key(&keys[from], None, &keys[to])
                        } else {
                            a.move_key(&keys[from], Some(&mut b), &keys[to])
                        };
                        let v = ea.remove_key(&keys[from]).unwrap();
                        match got {
                            Err(m) => {
                                assert!(matches!(m, Value::Map(_)));
                                assert!(m == v);
                            }
                            Ok(moved) => {
                                assert!(moved);
                                let dst = if same_map { &mut ea } else { &mut eb };
                                dst.insert_key(&keys[to], v);
                            }
                        }
                        // Equal, and in the same order (the last pair takes the place).
                        let order = |m: &Map| m.keys().map(|k| k.to_string()).collect::<Vec<_>>();
                        assert!(a == ea, "from {from} to {to} {same_map}: {a:?} {ea:?}");
                        assert_eq!(order(&a), order(&ea));
                        assert!(b == eb, "from {from} to {to}: {b:?} {eb:?}");
                        assert_eq!(order(&b), order(&eb));
                    }
                }
            }
        }
        // Absent: nothing changes.
        let (mut a, mut b) = (source(), Map::new());
        assert!(
            !a.move_key(&Key::named("zz"), Some(&mut b), &keys[0])
                .unwrap()
        );
        assert!(a == source() && b.is_empty());
        // No reference to the shared text is lost or gained: moved, replaced, dropped.
        let before = Arc::strong_count(&line);
        {
            let (mut a, mut b) = (source(), Map::new());
            b.insert_key(&keys[1], shared());
            let during = Arc::strong_count(&line);
            a.move_key(&keys[0], Some(&mut b), &keys[1]).unwrap();
            assert_eq!(
                Arc::strong_count(&line),
                during - 1,
                "the replaced value is dropped"
            );
            assert!(b.get_key(&keys[1]).is_some_and(|v| *v == shared()));
            assert!(a.get_key(&keys[0]).is_none());
        }
        assert_eq!(Arc::strong_count(&line), before);
    }

    #[test]
    fn shared_strings_and_their_parts_copy_no_text_and_behave_as_owned_ones() {
        let line: Arc<str> = Arc::from("2024-05-06T07:08:09Z stdout F héllo");
        let whole = Str::from(line.clone());
        assert!(whole.is_shared());
        assert_eq!(whole, *"2024-05-06T07:08:09Z stdout F héllo");
        // A part shares the line's text: no copy, and its bytes are the line's.
        let part = whole.slice(30..36);
        assert_eq!(part.as_str(), "héllo");
        assert!(part.is_shared());
        assert_eq!(part.as_str().as_ptr(), line[30..].as_ptr());
        // A part of a part.
        assert_eq!(part.slice(1..3).as_str(), "é");
        assert_eq!(part.slice(1..3).as_str().as_ptr(), line[31..].as_ptr());
        // Out of bounds or off a character boundary: "", not a panic.
        assert_eq!(part.slice(2..3).as_str(), "");
        assert_eq!(part.slice(4..99).as_str(), "");
        // Parts of an owned value are owned copies.
        let owned = Str::from("abc");
        assert!(!owned.slice(1..2).is_shared());
        assert_eq!(owned.slice(1..2), *"b");
        // Equal texts are equal whatever their form; the same part compares by pointer.
        assert_eq!(part, Str::from("héllo"));
        assert!(part.ptr_eq(&part.clone()));
        assert!(!part.ptr_eq(&Str::from("héllo").shared()));
        assert!(!whole.ptr_eq(&part));
        // Hashing is the text's (maps keyed by Str are looked up by &str).
        let mut m = std::collections::HashMap::new();
        m.insert(part.clone(), 1);
        assert_eq!(m.get("héllo"), Some(&1));
        // Changing a shared value changes no other.
        let mut changed = part.clone();
        changed.make_mut().push('!');
        assert_eq!(changed, *"héllo!");
        assert_eq!(part, *"héllo");
        assert_eq!(whole.as_str(), &*line);
        assert_eq!(part.clone().into_string(), "héllo");
    }

    #[test]
    fn shared_values_are_shared_all_the_way_down() {
        let mut v = Value::Map(crate::map! {"a" => "x", "b" => 1i64});
        if let Value::Map(m) = &mut v {
            m.insert("l", Value::List(vec![Value::from("y")]));
        }
        v.share_strings();
        let Value::Map(m) = &v else { unreachable!() };
        assert!(matches!(m.get("a"), Some(Value::Str(s)) if s.is_shared()));
        assert!(
            matches!(m.get("l"), Some(Value::List(l)) if matches!(&l[0], Value::Str(s) if s.is_shared()))
        );
        assert_eq!(m.get("b"), Some(&Value::Int(1)));
        // Equal to the owned original.
        assert_eq!(
            v,
            Value::Map(
                crate::map! {"a" => "x", "b" => 1i64, "l" => Value::List(vec![Value::from("y")])}
            )
        );
    }

    #[test]
    fn maps_find_entries_by_key_whether_interned_or_shared() {
        let (named, shared) = (Key::named("stream"), Key::from("stream"));
        let other = Key::named("logtag");
        assert_eq!(named, Key::named("stream"));
        assert_eq!(named, shared);
        assert_eq!(shared, named);
        assert!(named != other && shared != other);
        // An entry under a shared key (a parsed JSON body, say) is found by the interned
        // key of a configured field, and the other way round.
        let mut m = Map::new();
        m.insert_key(&shared, Value::from("stdout"));
        m.insert_key(&other, Value::from("F"));
        assert_eq!(m.get_key(&named), Some(&Value::from("stdout")));
        m.insert_key(&named, Value::from("stderr"));
        assert_eq!(m.len(), 2, "replaced in place, not added");
        let mut upd = Map::new();
        upd.insert_key(&Key::from("logtag"), Value::from("P"));
        m.merge(upd);
        assert_eq!(m.get_key(&other), Some(&Value::from("P")));
        assert_eq!(m.len(), 2);
        *m.get_mut_key(&other).unwrap() = Value::from("F");
        assert_eq!(m.remove_key(&Key::from("logtag")), Some(Value::from("F")));
        assert_eq!(m.remove_key(&named), Some(Value::from("stderr")));
        assert!(m.is_empty());
    }

    /// A merge adds the new pairs after the existing ones in their order, and replaces
    /// the value of a key already there in place: whether none, some or all of the keys
    /// are new (no key replaced takes the one-copy path).
    #[test]
    fn merge_appends_new_pairs_in_order_and_replaces_existing_in_place() {
        let map = |pairs: &[(&str, &str)]| {
            let mut m = Map::new();
            for (k, v) in pairs {
                m.insert_key(&Key::named(k), Value::from(*v));
            }
            m
        };
        let pairs = |m: &Map| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut m = map(&[("path", "p")]);
        m.merge(map(&[("time", "t"), ("stream", "s")]));
        assert_eq!(pairs(&m), "path=p,time=t,stream=s");
        m.merge(map(&[("log", "l"), ("stream", "e"), ("uid", "u")]));
        assert_eq!(pairs(&m), "path=p,time=t,stream=e,log=l,uid=u");
        m.merge(map(&[("time", "t2"), ("path", "p2")]));
        assert_eq!(pairs(&m), "path=p2,time=t2,stream=e,log=l,uid=u");
        m.merge(Map::new());
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn named_keys_are_interned_and_equal_to_shared_keys_of_the_same_text() {
        let a = Key::named("k8s.pod.name");
        let b = Key::named(&String::from("k8s.pod.name"));
        assert!(Key::ptr_eq(&a, &b), "one copy per name");
        let shared = Key::from("k8s.pod.name");
        assert!(!Key::ptr_eq(&a, &shared));
        assert_eq!(a, shared);
        assert_ne!(a, Key::named("k8s.pod.uid"));
        // Hashing agrees with `str`'s (HashMap<Key, _> looked up by &str).
        use std::hash::{BuildHasher, RandomState};
        let rs = RandomState::new();
        assert_eq!(rs.hash_one(&a), rs.hash_one(&shared));
        assert_eq!(rs.hash_one(&a), rs.hash_one("k8s.pod.name"));
        let (named, shared) = (Key::named("a"), Key::from("b"));
        assert!(named < shared);
        let mut m = Map::new();
        m.insert_key(&a, Value::from("p"));
        assert_eq!(m.get("k8s.pod.name"), Some(&Value::from("p")));
        assert_eq!(format!("{a} {a:?}"), "k8s.pod.name \"k8s.pod.name\"");
    }

    #[test]
    fn maps_compare_as_go_maps_whatever_their_order() {
        let ab = map! {"a" => "1", "b" => Value::Int(2)};
        let ba = map! {"b" => Value::Int(2), "a" => "1"};
        assert_eq!(ab, ba, "order does not matter");
        assert_eq!(ab, ab.clone(), "same order, shared keys");
        assert_ne!(
            ab,
            map! {"a" => "1", "b" => Value::Int(3)},
            "a value differs"
        );
        assert_ne!(
            ba,
            map! {"a" => "1", "b" => Value::Int(3)},
            "a value differs, other order"
        );
        assert_ne!(ab, map! {"a" => "1", "c" => Value::Int(2)}, "a key differs");
        assert_ne!(ab, map! {"a" => "1"}, "a key is missing");
        // Same length, but one map repeats nothing the other has twice.
        assert_ne!(map! {"a" => "1", "b" => "1"}, map! {"b" => "1", "c" => "1"});
    }

    #[test]
    fn json_round_trip_keeps_values_and_types() {
        let mut inner = Map::new();
        inner.insert("z", Value::Int(-3));
        inner.insert("a", Value::List(vec![Value::Bool(true), Value::Nil]));
        let mut m = Map::new();
        m.insert("log.file.name", Value::from("0.log"));
        m.insert("n", Value::Float(1.5));
        m.insert("inner", Value::Map(inner));
        let v = Value::Map(m);
        assert_eq!(from_json(&to_json(&v)), v);
        assert_eq!(
            to_json(&Value::Bytes(b"hi".to_vec())),
            serde_json::json!("hi")
        );
        assert_eq!(to_json(&Value::Float(f64::NAN)), serde_json::Value::Null);
    }
}
