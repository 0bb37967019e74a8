//! Persisted queries, as Apollo Client's persisted-query link and urql's
//! `persistedExchange` speak them: a request names its document by
//! `extensions.persistedQuery.sha256Hash`, and sends the document itself only when the
//! server answers `PERSISTED_QUERY_NOT_FOUND`.
//!
//! Two modes. Automatic (the default): any document may be registered under its hash, in
//! a cache bounded in bytes and shared by the process (each replica learns a document on
//! its first miss). Allowlist (`--persisted-only FILE`): only the documents of a manifest
//! the frontend's build produced run, by hash or in full; nothing is registered.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use crate::crypto::sha256_hex;
use lru::LruCache;

/// Documents remembered in automatic mode, at most.
const CACHE_ENTRIES: usize = 4096;
/// Bytes of documents remembered in automatic mode, at most (a document may be up to the
/// 1 MiB body limit, so the entry count alone would not bound memory).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Why a persisted-query request cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistedQueryError {
    /// The hash is not known: send it again with the document (the APQ protocol's miss).
    NotFound,
    /// The document is not in the allowlist.
    NotInList,
    /// The document's SHA-256 is not the hash sent with it.
    HashMismatch,
    /// `extensions.persistedQuery` is not `{"version": 1, "sha256Hash": "<hex>"}`.
    Malformed(String),
}

impl PersistedQueryError {
    pub fn code(&self) -> &'static str {
        match self {
            PersistedQueryError::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            PersistedQueryError::NotInList => "PERSISTED_QUERY_NOT_IN_LIST",
            PersistedQueryError::HashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            PersistedQueryError::Malformed(_) => "BAD_REQUEST",
        }
    }

    /// The message: for a miss, the exact text both clients compare against.
    pub fn message(&self) -> String {
        match self {
            PersistedQueryError::NotFound => "PersistedQueryNotFound".to_owned(),
            PersistedQueryError::NotInList => {
                "this server runs only the persisted documents of its manifest".to_owned()
            }
            PersistedQueryError::HashMismatch => {
                "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`".to_owned()
            }
            PersistedQueryError::Malformed(why) => why.clone(),
        }
    }
}

/// A manifest: document by hash.
pub type Manifest = HashMap<String, Arc<str>>;

/// Reads a manifest in either format the frontends' build tools write: Apollo's
/// (`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}`) or
/// the flat object of GraphQL Code Generator's `persistedDocuments` (`{"<hash>":
/// "<document>"}`).
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    let mut manifest = Manifest::new();
    if let Some(operations) = json.get("operations").and_then(|o| o.as_array()) {
        for operation in operations {
            let id = operation.get("id").and_then(|v| v.as_str());
            let body = operation.get("body").and_then(|v| v.as_str());
            let (Some(id), Some(body)) = (id, body) else {
                return Err("every manifest operation needs a string `id` and `body`".into());
            };
            manifest.insert(id.to_ascii_lowercase(), Arc::from(body));
        }
    } else if let Some(object) = json.as_object() {
        for (id, body) in object {
            let body = body
                .as_str()
                .ok_or_else(|| format!("manifest entry `{id}` is not a document string"))?;
            manifest.insert(id.to_ascii_lowercase(), Arc::from(body));
        }
    } else {
        return Err("the manifest must be a JSON object".into());
    }
    if manifest.is_empty() {
        return Err("the manifest lists no documents".into());
    }
    Ok(manifest)
}

/// The automatic mode's documents, least recently used first out.
pub struct Cache {
    documents: LruCache<String, Arc<str>>,
    bytes: usize,
}

/// Which documents a request may name, and the ones already named.
pub enum PersistedQueries {
    Automatic(Mutex<Cache>),
    Allowlist {
        by_id: Manifest,
        /// SHA-256 of each listed document, so that one sent in full is accepted too.
        hashes: HashSet<String>,
    },
}

impl Default for PersistedQueries {
    fn default() -> Self {
        PersistedQueries::Automatic(Mutex::new(Cache {
            documents: LruCache::new(NonZeroUsize::new(CACHE_ENTRIES).expect("not zero")),
            bytes: 0,
        }))
    }
}

impl PersistedQueries {
    pub fn allowlist(manifest: Manifest) -> Self {
        let hashes = manifest.values().map(|body| sha256_hex(body)).collect();
        PersistedQueries::Allowlist {
            by_id: manifest,
            hashes,
        }
    }

    /// Fills in `request.query` from its hash, registers a new document (automatic mode),
    /// or refuses the request; before anything is parsed or run.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> Result<(), PersistedQueryError> {
        let hash = match request.extensions.get("persistedQuery") {
            None => None,
            Some(value) => Some(requested_hash(value)?),
        };
        let has_document = !request.query.trim().is_empty();
        match (self, hash) {
            (PersistedQueries::Allowlist { hashes, .. }, None) => {
                if hashes.contains(&sha256_hex(&request.query)) {
                    Ok(())
                } else {
                    Err(PersistedQueryError::NotInList)
                }
            }
            (PersistedQueries::Automatic(_), None) => Ok(()),
            (_, Some(hash)) if has_document => {
                if sha256_hex(&request.query) != hash {
                    return Err(PersistedQueryError::HashMismatch);
                }
                match self {
                    PersistedQueries::Allowlist { hashes, .. } if !hashes.contains(&hash) => {
                        Err(PersistedQueryError::NotInList)
                    }
                    PersistedQueries::Allowlist { .. } => Ok(()),
                    PersistedQueries::Automatic(cache) => {
                        remember(cache, hash, &request.query);
                        Ok(())
                    }
                }
            }
            (PersistedQueries::Allowlist { by_id, .. }, Some(hash)) => {
                let document = by_id.get(&hash).ok_or(PersistedQueryError::NotFound)?;
                request.query = document.to_string();
                Ok(())
            }
            (PersistedQueries::Automatic(cache), Some(hash)) => {
                let mut cache = cache.lock().expect("not poisoned");
                let document = cache
                    .documents
                    .get(&hash)
                    .ok_or(PersistedQueryError::NotFound)?;
                request.query = document.to_string();
                Ok(())
            }
        }
    }
}

/// The lower-case hex hash of `{"version": 1, "sha256Hash": "..."}`.
fn requested_hash(value: &async_graphql::Value) -> Result<String, PersistedQueryError> {
    let malformed = |why: &str| PersistedQueryError::Malformed(why.to_owned());
    let async_graphql::Value::Object(fields) = value else {
        return Err(malformed("`extensions.persistedQuery` must be an object"));
    };
    match fields.get("version") {
        Some(async_graphql::Value::Number(n)) if n.as_i64() == Some(1) => {}
        _ => return Err(malformed("`extensions.persistedQuery.version` must be 1")),
    }
    match fields.get("sha256Hash") {
        Some(async_graphql::Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(malformed(
            "`extensions.persistedQuery.sha256Hash` must be 64 hex digits",
        )),
    }
}

fn remember(cache: &Mutex<Cache>, hash: String, document: &str) {
    if document.len() > CACHE_BYTES {
        return;
    }
    let mut cache = cache.lock().expect("not poisoned");
    if cache.documents.contains(&hash) {
        return;
    }
    cache.bytes += document.len();
    if let Some((_, evicted)) = cache.documents.push(hash, Arc::from(document)) {
        cache.bytes -= evicted.len();
    }
    while cache.bytes > CACHE_BYTES {
        match cache.documents.pop_lru() {
            Some((_, evicted)) => cache.bytes -= evicted.len(),
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_manifest_formats_are_read() {
        let apollo = r#"{"format":"apollo-persisted-query-manifest","version":1,
            "operations":[{"id":"ABC","name":"Q","type":"query","body":"{ viewer { id } }"}]}"#;
        let manifest = parse_manifest(apollo).unwrap();
        assert_eq!(&*manifest["abc"], "{ viewer { id } }");
        let flat = r#"{"def": "{ viewer { name } }"}"#;
        assert_eq!(
            &*parse_manifest(flat).unwrap()["def"],
            "{ viewer { name } }"
        );
        assert!(parse_manifest("[]").is_err());
        assert!(parse_manifest("{}").is_err());
    }

    #[test]
    fn the_cache_stays_within_its_bytes() {
        let cache = Mutex::new(Cache {
            documents: LruCache::new(NonZeroUsize::new(CACHE_ENTRIES).unwrap()),
            bytes: 0,
        });
        // Five documents of 5 MiB: only three fit in 16 MiB, the two oldest go.
        let big = |c: char| c.to_string().repeat(5 * 1024 * 1024);
        for c in ['a', 'b', 'c', 'd', 'e'] {
            remember(&cache, c.to_string(), &big(c));
        }
        let cache = cache.lock().unwrap();
        assert_eq!(cache.bytes, 15 * 1024 * 1024);
        assert_eq!(cache.documents.len(), 3);
        assert!(!cache.documents.contains("a") && !cache.documents.contains("b"));
    }
}
