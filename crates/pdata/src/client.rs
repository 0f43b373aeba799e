//! [`ClientInfo`]: what a receiver knew about the client that sent a batch (Go's
//! `client.Info`): request headers kept with `include_metadata`, and the attributes an
//! authenticator found. It travels with the batch so that the batch processor can group by
//! `metadata_keys` and an exporter's `headers_setter` can forward values.

/// Client information carried by a [`crate::Batch`]. Keys of `metadata` are lower-case, as
/// Go's `client.Metadata` looks them up case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientInfo {
    /// Header name (lower-case) → values, sorted by name.
    pub metadata: Vec<(String, Vec<String>)>,
    /// Authenticator attributes (`auth.<name>` in `headers_setter`), sorted by name.
    pub auth: Vec<(String, String)>,
}

impl ClientInfo {
    /// The values of metadata key `key` (case-insensitive), empty when absent.
    pub fn get(&self, key: &str) -> &[String] {
        let key = key.to_ascii_lowercase();
        self.metadata
            .binary_search_by(|(k, _)| k.as_str().cmp(&key))
            .map(|i| self.metadata[i].1.as_slice())
            .unwrap_or(&[])
    }

    /// Adds values for `key` (lower-cased), keeping names sorted.
    pub fn push(&mut self, key: &str, value: String) {
        let key = key.to_ascii_lowercase();
        match self
            .metadata
            .binary_search_by(|(k, _)| k.as_str().cmp(&key))
        {
            Ok(i) => self.metadata[i].1.push(value),
            Err(i) => self.metadata.insert(i, (key, vec![value])),
        }
    }

    /// The authenticator attribute `name`.
    pub fn auth_attribute(&self, name: &str) -> Option<&str> {
        self.auth
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.metadata.is_empty() && self.auth.is_empty()
    }
}
