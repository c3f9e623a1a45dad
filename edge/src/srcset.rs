//! The `<img srcset sizes>` snippet a page uses for one photo: one candidate per allowed width,
//! so every URL a browser picks is a variant the spec produces (and the edge caches).

use viewer_fn::sign::{sign_url, Keys};
use viewer_fn::Spec;

/// `sizes` when the caller gives none: full viewport width up to the largest candidate.
pub const DEFAULT_SIZES: &str = "100vw";

/// The URL path of an original key, in viewer-fn's canonical %-encoding.
pub fn path_of(key: &str) -> String {
    format!("/{}", viewer_fn::encode_key(key.trim_start_matches('/')))
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A page's URL for a spec with `signed = true`: signed on the server with the site's key
/// (slot `a`, else `b`; the keys never reach the page); unchanged without keys, for another spec,
/// or for a URL the spec refuses (the page then shows the function's own answer).
pub fn signed(spec: &Spec, keys: Option<&Keys>, url: String) -> String {
    match keys {
        Some(k) if spec.signed() => {
            let slot = if k.get('a').is_some() { 'a' } else { 'b' };
            sign_url(spec, k, slot, &url).unwrap_or(url)
        }
        _ => url,
    }
}

/// The snippet, e.g. for `photos/a.jpg`:
/// `<img src="/photos/a.jpg?w=1080" srcset="/photos/a.jpg?w=640 640w, …" sizes="100vw" alt="" loading="lazy" decoding="async">`
/// With a signed spec and its keys, every URL carries its signature.
pub fn snippet(
    spec: &Spec,
    keys: Option<&Keys>,
    key: &str,
    sizes: Option<&str>,
    alt: &str,
) -> String {
    let path = path_of(key);
    // A presets-only spec takes no `w`: its candidates are the presets of a known width.
    let p = spec.params().primary(viewer_fn::Role::Preset);
    let by_width: Vec<(u32, String)> = if spec.presets_only() {
        let mut v: Vec<(u32, String)> = spec
            .presets()
            .iter()
            .filter(|(_, pr)| pr.width > 0 && pr.height == 0)
            .map(|(n, pr)| (pr.width, format!("{path}?{p}={n}")))
            .collect();
        v.sort();
        v.dedup_by_key(|(w, _)| *w);
        v
    } else {
        spec.widths()
            .iter()
            .map(|&w| (w, format!("{path}?w={w}")))
            .collect()
    };
    let widths: Vec<u32> = by_width.iter().map(|(w, _)| *w).collect();
    let url_of = |w: u32| {
        by_width
            .iter()
            .find(|(x, _)| *x == w)
            .map(|(_, u)| u.clone())
    };
    let candidates: Vec<String> = by_width
        .iter()
        .map(|(w, u)| format!("{} {w}w", signed(spec, keys, u.clone())))
        .collect();
    // The fallback `src` for browsers without srcset: a middling width, not the largest.
    let fallback = widths
        .iter()
        .copied()
        .filter(|&w| w <= 1080)
        .max()
        .or_else(|| widths.first().copied());
    let src = match fallback.and_then(url_of) {
        Some(u) => signed(spec, keys, u),
        None => path.clone(),
    };
    format!(
        "<img src=\"{}\" srcset=\"{}\" sizes=\"{}\" alt=\"{}\" loading=\"lazy\" decoding=\"async\">",
        html_attr(&src),
        html_attr(&candidates.join(", ")),
        html_attr(sizes.unwrap_or(DEFAULT_SIZES)),
        html_attr(alt),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_per_segment() {
        assert_eq!(
            path_of("photos/Further café.jpg"),
            "/photos/Further%20caf%C3%A9.jpg"
        );
        assert_eq!(path_of("/a.jpg"), "/a.jpg");
        assert_eq!(path_of("a?b#c.jpg"), "/a%3Fb%23c.jpg");
    }

    #[test]
    fn snippet_lists_every_width_and_escapes() {
        let spec = Spec::default();
        let s = snippet(
            &spec,
            None,
            "photos/a b.jpg",
            Some("(max-width: 600px) 100vw, 50vw"),
            "A \"quoted\" <alt>",
        );
        for w in spec.widths() {
            assert!(s.contains(&format!("/photos/a%20b.jpg?w={w} {w}w")), "{s}");
        }
        assert!(s.contains("sizes=\"(max-width: 600px) 100vw, 50vw\""));
        assert!(s.contains("alt=\"A &quot;quoted&quot; &lt;alt&gt;\""));
        assert!(s.starts_with("<img src=\"/photos/a%20b.jpg?w="));
    }

    #[test]
    fn a_presets_only_spec_lists_its_presets_by_width() {
        let spec = Spec::from_toml(
            "presets_only = true\n[presets.small]\nwidth = 320\n[presets.large]\nwidth = 1280\n[presets.icon]\nheight = 64\n[presets.square]\nwidth = 300\nheight = 300\n",
        )
        .unwrap();
        let s = snippet(&spec, None, "a.jpg", None, "");
        assert!(
            s.contains("srcset=\"/a.jpg?p=small 320w, /a.jpg?p=large 1280w\""),
            "{s}"
        );
        assert!(s.starts_with("<img src=\"/a.jpg?p=small\""), "{s}");
    }

    #[test]
    fn a_signed_spec_signs_every_candidate_on_the_server() {
        let spec = Spec::from_toml("signed = true\n").unwrap();
        let mut keys = Keys::new();
        keys.set('a', "0123456789abcdef0123").unwrap();
        let s = snippet(&spec, Some(&keys), "a.jpg", None, "");
        for w in spec.widths() {
            let url = format!("/a.jpg?w={w}");
            let sig = sign_url(&spec, &keys, 'a', &url).unwrap();
            assert!(
                s.contains(&format!("{} {w}w", sig.replace('&', "&amp;"))),
                "{s}"
            );
        }
        assert!(
            !s.contains("0123456789abcdef0123"),
            "the key never reaches the page"
        );
    }
}
