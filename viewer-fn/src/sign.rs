//! Signed URLs (`signed = true` in the spec): a transform or a variant URI is served only with a
//! signature made with a key the site holds, so nobody else can make a photo's variants.
//!
//! - The signed message is the request's canonical transform, source key included: the variant
//!   key without its prefix and generation (`photos/Further.jpg/w640-h0-cover-q75.webp`), its
//!   format written `auto` when the format is negotiated (a page cannot know which one the
//!   browser gets). The generation is left out, so a new image core does not break the URLs in
//!   pages; the signature is never part of a key (one output ⇔ one key).
//! - The signature is `s=` + a slot letter + the first 31 hex digits (124 bits) of
//!   HMAC-SHA256(key of that slot, message): 32 characters, within the 32-character limit of a
//!   parameter value. Slots `a` and `b` are the site's keys (two, so one can rotate while pages
//!   signed with the other are still cached), `o` is the origin's (it signs the redirect it
//!   answers when a variant is too large to return inline: it never sees the query, so it cannot
//!   pass the page's signature on).
//! - The keys live in a CloudFront KeyValueStore (`scalefront-a`, `-b`, `-o`), read by the
//!   viewer function at run time: rotating one is a KVS write, not a deploy. Locally, in a file
//!   of the KVS import format (`{"data":[{"key":…,"value":…}]}`).
//! - Unsigned, wrongly signed, or signed with a slot the store lacks → 403, after the request's
//!   own checks (a malformed request is a 400 either way) and before any origin work.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Slots a signature may name: the site's two keys and the origin's.
pub const SLOTS: [char; 3] = ['a', 'b', 'o'];
/// The slot the origin signs its redirects with.
pub const ORIGIN_SLOT: char = 'o';
/// Hex digits of the HMAC a signature carries (after the slot letter).
pub const SIGNATURE_HEX: usize = 31;

/// The KeyValueStore key holding a slot's secret.
pub fn kvs_key(slot: char) -> String {
    format!("scalefront-{slot}")
}

/// Signing keys by slot. The secret is used as its UTF-8 bytes (what `createHmac` does with a
/// string), so a secret is any string of 16-512 printable ASCII characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys(BTreeMap<char, String>);

/// CloudFront's KeyValueStore import format.
#[derive(Serialize, Deserialize)]
struct KvsFile {
    data: Vec<KvsEntry>,
}

#[derive(Serialize, Deserialize)]
struct KvsEntry {
    key: String,
    value: String,
}

impl Keys {
    pub fn new() -> Keys {
        Keys::default()
    }

    /// Sets a slot's secret; `Err` if the slot or the secret is not allowed.
    pub fn set(&mut self, slot: char, secret: &str) -> Result<(), String> {
        if !SLOTS.contains(&slot) {
            return Err(format!("slot {slot:?} is not one of a, b, o"));
        }
        if !(16..=512).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "the secret of slot {slot} must be 16-512 printable ASCII characters"
            ));
        }
        self.0.insert(slot, secret.to_string());
        Ok(())
    }

    /// Fresh secrets for `slots`: 32 bytes each from `entropy` (the OS's: `/dev/urandom`), as
    /// 64 hex digits.
    pub fn random(slots: &[char], entropy: &mut impl std::io::Read) -> std::io::Result<Keys> {
        let mut keys = Keys::new();
        for &slot in slots {
            let mut b = [0u8; 32];
            entropy.read_exact(&mut b)?;
            keys.set(slot, &hex(&b))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        }
        Ok(keys)
    }

    pub fn get(&self, slot: char) -> Option<&str> {
        self.0.get(&slot).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads the KVS import format; keys other than `scalefront-{a,b,o}` are left alone (the
    /// store may hold the site's other data).
    pub fn from_kvs_json(src: &str) -> Result<Keys, String> {
        let f: KvsFile = serde_json::from_str(src).map_err(|e| {
            format!("not a KeyValueStore file ({{\"data\":[{{\"key\",\"value\"}}]}}): {e}")
        })?;
        let mut keys = Keys::new();
        for e in f.data {
            if let Some(&slot) = SLOTS.iter().find(|&&s| kvs_key(s) == e.key) {
                keys.set(slot, &e.value)?;
            }
        }
        Ok(keys)
    }

    /// The KVS import format (what `from_kvs_json` reads, what a KeyValueStore imports).
    pub fn to_kvs_json(&self) -> String {
        let data = self
            .0
            .iter()
            .map(|(&slot, v)| KvsEntry {
                key: kvs_key(slot),
                value: v.clone(),
            })
            .collect();
        serde_json::to_string_pretty(&KvsFile { data }).expect("plain data")
    }

    /// `slot` + the first [`SIGNATURE_HEX`] hex digits of HMAC-SHA256(secret, message).
    pub fn sign(&self, slot: char, message: &str) -> Option<String> {
        let secret = self.get(slot)?;
        Some(format!(
            "{slot}{}",
            &hmac_hex(secret, message)[..SIGNATURE_HEX]
        ))
    }

    /// Whether `signature` (already lower-cased) signs `message` with a key of this set.
    /// Compared in constant time, as the JavaScript does.
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        let Some(slot) = signature.chars().next() else {
            return false;
        };
        let Some(want) = self.sign(slot, message) else {
            return false;
        };
        want.len() == signature.len()
            && want
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
    }
}

/// What a signature signs: a variant's key without prefix and generation, `format` for its
/// extension — the variant's own format for its URI, `auto` for a transform whose format
/// `Accept` decides.
pub fn message(v: &crate::Variant, format: &str) -> String {
    format!(
        "{}/w{}-h{}-{}-q{}.{format}",
        crate::encode_key(&v.source_key),
        v.width,
        v.height,
        v.fit,
        v.quality,
    )
}

/// `url` (`/photos/a.jpg?w=640`, or a variant URI, or a full `https://…` URL) with its
/// signature appended, made with the key of `slot`. `Err` if the URL is not a variant request
/// this spec accepts (an original needs no signature; a refused request cannot be signed).
pub fn sign_url(spec: &crate::Spec, keys: &Keys, slot: char, url: &str) -> Result<String, String> {
    let event = crate::ViewerRequestEvent::from_http(url, &[]);
    let name = spec.params().primary(crate::Role::Signature);
    if event.request.querystring.iter().flatten().any(|(n, _)| {
        spec.params().role_of(&n.to_ascii_lowercase()) == Some(crate::Role::Signature)
    }) {
        return Err(format!("{url}: already carries {name}="));
    }
    let message = match crate::resolve_for_signing(spec, &event.request) {
        (crate::Outcome::Reject { status, message }, _) => {
            return Err(format!("{url}: refused by the spec ({status} {message})"))
        }
        (crate::Outcome::Original(_), _) => {
            return Err(format!(
                "{url}: not a transform (an original is served unsigned)"
            ))
        }
        (_, m) => m.expect("a variant request has a message"),
    };
    let sig = keys
        .sign(slot, &message)
        .ok_or_else(|| format!("the keys have no secret for slot {slot}"))?;
    let url = url.split('#').next().unwrap_or(url);
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}{name}={sig}"))
}

/// HMAC-SHA256 in lower-case hex (`crypto.createHmac('sha256', k).update(m).digest('hex')`).
pub fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Lower-case hex: the project's one encoder (signatures, secrets, content hashes).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `a` + 31 lower-case hex digits: the shape of a signature.
pub fn is_signature(s: &str) -> bool {
    s.len() == 1 + SIGNATURE_HEX
        && SLOTS.iter().any(|&c| s.starts_with(c))
        && s.bytes()
            .skip(1)
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signed_urls_pass_the_rewrite_and_tampered_ones_do_not() {
        let spec = crate::Spec::from_toml("signed = true\n").unwrap();
        let mut k = Keys::new();
        k.set('a', "0123456789abcdef0123").unwrap();
        let pass = |url: &str| {
            let e = crate::ViewerRequestEvent::from_http(
                url,
                &[("Accept".into(), "image/webp".into())],
            );
            matches!(
                crate::rewrite_with(&spec, &k, &e),
                crate::ViewerResult::Request(_)
            )
        };
        let url = sign_url(&spec, &k, 'a', "/photos/a b.jpg?w=600").unwrap();
        assert!(url.starts_with("/photos/a b.jpg?w=600&s=a"), "{url}");
        assert!(pass(&url));
        assert!(!pass(&url.replace("w=600", "w=1200")));
        assert!(!pass("/photos/a b.jpg?w=600"));
        let direct = format!(
            "/_sf/photos/a.jpg/{}/w640-h0-cover-q75.webp",
            crate::GENERATION
        );
        assert!(pass(&sign_url(&spec, &k, 'a', &direct).unwrap()));
        assert!(sign_url(&spec, &k, 'a', "/photos/a.jpg").is_err());
        assert!(sign_url(&spec, &k, 'a', "/photos/a.jpg?w=x").is_err());
        assert!(sign_url(&spec, &k, 'b', "/photos/a.jpg?w=600").is_err());
    }

    #[test]
    fn sign_and_verify_by_slot() {
        let mut k = Keys::new();
        k.set('a', "0123456789abcdef0123").unwrap();
        let s = k.sign('a', "photos/a.jpg/w640-h0-cover-q75.auto").unwrap();
        assert!(is_signature(&s) && s.starts_with('a'), "{s}");
        assert!(k.verify("photos/a.jpg/w640-h0-cover-q75.auto", &s));
        assert!(!k.verify("photos/b.jpg/w640-h0-cover-q75.auto", &s));
        // The same digits under a slot the set lacks, a short one, nothing.
        assert!(!k.verify(
            "photos/a.jpg/w640-h0-cover-q75.auto",
            &s.replacen('a', "b", 1)
        ));
        assert!(!k.verify("photos/a.jpg/w640-h0-cover-q75.auto", &s[..20]));
        assert!(!k.verify("photos/a.jpg/w640-h0-cover-q75.auto", ""));
        assert!(k.set('x', "0123456789abcdef").is_err());
        assert!(k.set('b', "short").is_err());
        let back = Keys::from_kvs_json(&k.to_kvs_json()).unwrap();
        assert_eq!(back, k);
        let other = r#"{"data":[{"key":"site-config","value":"x"},{"key":"scalefront-o","value":"origin-secret-0123"}]}"#;
        assert_eq!(
            Keys::from_kvs_json(other).unwrap().get('o'),
            Some("origin-secret-0123")
        );
    }
}
