//! Purge: the stored variants of some originals go, and the CDN forgets them. Pure, like the
//! origin flow: [`Purge`] hands the host [`Step`]s (list, delete, invalidate) and takes their
//! outcomes back, so `scalefront purge` against a deployed stack (aws CLI), `serve` over a folder
//! or a bucket, and a dry run all follow one list of steps.
//!
//! ```text
//! Originals(keys)  ─list {prefix}/{key}/ by "/" → generation folders → list each by "/"─┐
//! Prefix(p)        ─list {prefix}/{p} (all of it), keep keys whose source starts with p──┼─▶ delete (≤1000 a call)
//! OldGenerations   ─list {prefix}/ (all of it), keep keys of another generation─────────┘      │
//!                                                                                              ▼
//!   invalidate: Originals → one cache tag per original + its own URI; Prefix → two wildcards;
//!   OldGenerations → nothing (no page URL leads to them any more)                     ─▶ Done(Report)
//! ```
//!
//! Listing one original's variants goes by the `/` delimiter, a level at a time, so `x.jpg/`
//! never takes in the variants of `x.jpg/y.jpg` (whose folder is `x.jpg/y.jpg/`).

use crate::{encode_key, is_generation, variants_of, Spec, StoredKey};
use serde::{Deserialize, Serialize};

/// How the CDN is told to forget one original's variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// `#tag`: one item for every variant of an original, whatever their number; no wildcard
    /// limit. Needs a `CacheTagConfig` naming [`CACHE_TAG_HEADER`] on the distribution.
    Tags,
    /// `/{prefix}/{key}/*`: a wildcard per original (at most [`MAX_WILDCARDS_IN_PROGRESS`] in
    /// progress); also reaches the variants of originals below it (`x.jpg/y.jpg`), which only
    /// costs them a cache miss.
    Paths,
}

/// CloudFront allows 15 wildcard paths in progress per distribution. Source:
/// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html
pub const MAX_WILDCARDS_IN_PROGRESS: usize = 15;

/// What to purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// These originals (S3 keys, decoded): their variants of every generation, and their own URI.
    Originals(Vec<String>),
    /// Every original whose key starts with this (`""`: all of them).
    Prefix(String),
    /// The variants of every generation but the current one: what a change of rules left behind.
    OldGenerations,
}

/// Ask the host for one page of keys (S3 `ListObjectsV2`). With `delimiter`, keys below the next
/// `/` are rolled up into [`Listing::folders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub prefix: String,
    pub delimiter: bool,
    /// The previous page's [`Listing::next`].
    pub token: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub keys: Vec<String>,
    /// Common prefixes, each ending in `/` (only with a delimiter).
    pub folders: Vec<String>,
    /// More pages: pass this back as [`List::token`].
    pub next: Option<String>,
}

/// Most keys in one S3 `DeleteObjects` call.
pub const MAX_DELETE_BATCH: usize = 1000;
/// Most items in one CloudFront `CreateInvalidation` call: CloudFront allows 3,000 file paths in
/// progress per distribution (tags count as paths). Source:
/// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/InvalidationLimits.html
pub const MAX_INVALIDATION_BATCH: usize = 3000;
/// The object metadata that carries a variant's cache tag; S3 answers it as the header
/// `x-amz-meta-cache-tag`, which the distribution's `CacheTagConfig` names. Source:
/// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-by-tags.html
pub const CACHE_TAG_METADATA: &str = "cache-tag";
/// The response header CloudFront reads tags from (S3's spelling of [`CACHE_TAG_METADATA`]).
pub const CACHE_TAG_HEADER: &str = "x-amz-meta-cache-tag";

/// The cache tag of every variant of one original: `sf-` + 16 hex digits of the key's FNV-1a.
/// CloudFront tags are visible ASCII without commas, at most 256 characters and case-insensitive,
/// and keys are up to 900 bytes of UTF-8 — so a hash of the key, not the key. A collision (odds
/// about 1 in 10^7 across a million originals) only invalidates one photo too many.
pub fn cache_tag(source_key: &str) -> String {
    format!("sf-{:016x}", crate::fnv1a64(source_key.as_bytes()))
}

/// A URI as an invalidation path. CloudFront reads `*` as a wildcard and documents no escape
/// for a literal one, so a path holding `*` is cut after its first `*`: a wildcard that still
/// covers the object (and perhaps a few neighbours), never one that misses it.
pub fn invalidation_path(uri: &str) -> String {
    match uri.find('*') {
        Some(i) => uri[..=i].to_string(),
        None => uri.to_string(),
    }
}

/// Ask the host to delete these keys (all under the variant prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub keys: Vec<String>,
}

/// Ask the host to invalidate these items in the CDN: paths (`/photos/a.jpg`, `/_sf/photos/*`)
/// and cache tags (`#sf-…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidate {
    pub items: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    List(List),
    Delete(Delete),
    Invalidate(Invalidate),
    Done(Report),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Listed(Result<Listing, String>),
    /// The keys that could not be deleted, each with its cause; `Err` if the call failed.
    Deleted(Result<Vec<(String, String)>, String>),
    Invalidated(Result<(), String>),
}

/// What a purge did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub dry_run: bool,
    /// Stored variants deleted (or to delete).
    pub deleted: Vec<String>,
    /// Items invalidated (or to invalidate).
    pub invalidated: Vec<String>,
    /// What failed; empty when all went.
    pub errors: Vec<String>,
}

impl Report {
    /// One line for a terminal.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let mut s = format!(
            "{verb} {} stored variant(s), {} {} invalidation item(s)",
            self.deleted.len(),
            if self.dry_run { "would send" } else { "sent" },
            self.invalidated.len()
        );
        if !self.errors.is_empty() {
            s.push_str(&format!("; {} error(s)", self.errors.len()));
        }
        s
    }
}

/// One purge's run. Create it with [`Purge::start`].
#[derive(Debug)]
pub struct Purge {
    spec: Spec,
    target: Target,
    dry_run: bool,
    /// Listings still to run (one original's folder, a generation folder, a next page).
    lists: Vec<List>,
    /// The listing handed out last (its next page continues it).
    last_list: Option<List>,
    /// Found and not yet deleted.
    pending: Vec<String>,
    /// Invalidation items not yet sent.
    items: Vec<String>,
    report: Report,
    awaiting: Awaiting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    Nothing,
    Listing,
    Deleting(usize),
    Invalidating(usize),
}

impl Purge {
    /// Checks the target against the spec and returns the first step. `Err`: a key that is not an
    /// original (under the variant prefix, empty).
    pub fn start(
        spec: &Spec,
        target: Target,
        by: Invalidation,
        dry_run: bool,
    ) -> Result<(Purge, Step), String> {
        let root = format!("{}/", spec.prefix());
        let (lists, items) = match &target {
            Target::Originals(keys) => {
                let mut lists = Vec::new();
                let mut items = Vec::new();
                for key in keys {
                    if key.is_empty() || key.starts_with(&root) || key.starts_with('/') {
                        return Err(format!(
                            "{key:?} is not an original's key (no leading /, not under {root})"
                        ));
                    }
                    lists.push(List {
                        prefix: variants_of(spec, key),
                        delimiter: true,
                        token: None,
                    });
                    items.push(match by {
                        Invalidation::Tags => format!("#{}", cache_tag(key)),
                        Invalidation::Paths => {
                            invalidation_path(&format!("/{}*", encode_key(&variants_of(spec, key))))
                        }
                    });
                    items.push(invalidation_path(&format!("/{}", encode_key(key))));
                }
                (lists, items)
            }
            Target::Prefix(p) => {
                if p.starts_with(&root) || p.starts_with('/') || p == spec.prefix() {
                    return Err(format!(
                        "{p:?} is not a prefix of originals' keys (no leading /, not under {root})"
                    ));
                }
                let lists = vec![List {
                    prefix: format!("{root}{p}"),
                    delimiter: false,
                    token: None,
                }];
                // Two wildcards, however many originals: the variants and the originals.
                let items = vec![
                    invalidation_path(&format!("/{}{}*", root, encode_key(p))),
                    invalidation_path(&format!("/{}*", encode_key(p))),
                ];
                (lists, items)
            }
            Target::OldGenerations => (
                vec![List {
                    prefix: root,
                    delimiter: false,
                    token: None,
                }],
                Vec::new(),
            ),
        };
        let mut purge = Purge {
            spec: spec.clone(),
            target,
            dry_run,
            lists: lists.into_iter().rev().collect(),
            last_list: None,
            pending: Vec::new(),
            items,
            report: Report {
                dry_run,
                ..Report::default()
            },
            awaiting: Awaiting::Nothing,
        };
        let step = purge.next();
        Ok((purge, step))
    }

    /// Feeds the outcome of the step the host just executed and returns the next one.
    pub fn resume(&mut self, input: Input) -> Step {
        match (
            std::mem::replace(&mut self.awaiting, Awaiting::Nothing),
            input,
        ) {
            (Awaiting::Listing, Input::Listed(Ok(listing))) => self.take(listing),
            (Awaiting::Listing, Input::Listed(Err(e))) => self.report.errors.push(e),
            (Awaiting::Deleting(n), Input::Deleted(result)) => {
                let batch: Vec<String> = self.pending.drain(..n).collect();
                match result {
                    Ok(failed) => {
                        for (key, cause) in &failed {
                            self.report.errors.push(format!("deleting {key}: {cause}"));
                        }
                        self.report.deleted.extend(
                            batch
                                .into_iter()
                                .filter(|k| !failed.iter().any(|(f, _)| f == k)),
                        );
                    }
                    Err(e) => self.report.errors.push(e),
                }
            }
            (Awaiting::Invalidating(n), Input::Invalidated(result)) => {
                let batch: Vec<String> = self.items.drain(..n).collect();
                match result {
                    Ok(()) => self.report.invalidated.extend(batch),
                    Err(e) => self.report.errors.push(format!("invalidation: {e}")),
                }
            }
            (awaiting, input) => self.report.errors.push(format!(
                "host protocol error: {input:?} while awaiting {awaiting:?}"
            )),
        }
        self.next()
    }

    /// Which stored keys of a listing go, and which folders to list next.
    fn take(&mut self, listing: Listing) {
        let current = self.spec.generation();
        for key in listing.keys {
            let Some(stored) = StoredKey::split(&self.spec, &key) else {
                continue;
            };
            let goes = match &self.target {
                // A generation folder's own keys: this original's variants.
                Target::Originals(_) => true,
                Target::Prefix(p) => stored.source_key.starts_with(p.as_str()),
                Target::OldGenerations => stored.generation != current,
            };
            if goes {
                self.pending.push(key);
            }
        }
        for folder in listing.folders {
            // Under one original's folder, only generation folders are its own; another
            // segment is the folder of an original below it (`x.jpg/y.jpg`).
            let segment = folder
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            if is_generation(segment) {
                self.lists.push(List {
                    prefix: folder,
                    delimiter: true,
                    token: None,
                });
            }
        }
        if let Some(token) = listing.next {
            // The same listing, next page: the last one asked for.
            if let Some(prev) = self.last_list.take() {
                self.lists.push(List {
                    token: Some(token),
                    ..prev
                });
            }
        }
    }

    fn next(&mut self) -> Step {
        // Delete as soon as a batch is full, so a huge listing never sits in memory.
        if self.pending.len() >= MAX_DELETE_BATCH
            || (self.lists.is_empty() && !self.pending.is_empty())
        {
            let n = self.pending.len().min(MAX_DELETE_BATCH);
            if self.dry_run {
                self.report.deleted.extend(self.pending.drain(..n));
                return self.next();
            }
            self.awaiting = Awaiting::Deleting(n);
            return Step::Delete(Delete {
                keys: self.pending[..n].to_vec(),
            });
        }
        if let Some(list) = self.lists.pop() {
            self.last_list = Some(list.clone());
            self.awaiting = Awaiting::Listing;
            return Step::List(list);
        }
        if !self.items.is_empty() {
            // A batch of at most 3,000 items, of which at most 15 wildcards.
            let mut n = 0;
            let mut wildcards = 0;
            for item in &self.items {
                let wild = item.ends_with('*');
                if n == MAX_INVALIDATION_BATCH || (wild && wildcards == MAX_WILDCARDS_IN_PROGRESS) {
                    break;
                }
                wildcards += usize::from(wild);
                n += 1;
            }
            if self.dry_run {
                self.report.invalidated.extend(self.items.drain(..n));
                return self.next();
            }
            self.awaiting = Awaiting::Invalidating(n);
            return Step::Invalidate(Invalidate {
                items: self.items[..n].to_vec(),
            });
        }
        Step::Done(self.report.clone())
    }
}
