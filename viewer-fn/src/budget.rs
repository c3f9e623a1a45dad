//! What a spec lets anyone make of one original: every canonical variant key it accepts (the
//! keys the origin's check lets through, I2), and the output pixels they add up to on a
//! worst-case source. `scalefront spec` prints it; `serve` and `deploy --dry-run` print the line.

use std::collections::BTreeSet;

use crate::spec::{Fit, Format, Spec};

/// The source the worst case assumes: the image core's default `max_pixels` (50 MP) as a square,
/// so every box of the spec is filled without enlarging.
pub const WORST_SOURCE_SIDE: u32 = 7_071;

/// The budget of one original under a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Distinct canonical variant keys (geometries × format/quality pairs).
    pub variants: u64,
    /// Geometries: sizes and fits, whatever the format.
    pub geometries: u64,
    /// Output pixels of all variants of a [`WORST_SOURCE_SIDE`]² source, per output format.
    pub pixels_by_format: Vec<(Format, u64)>,
}

/// One canonical variant of one original: width, height (0 = free), fit, quality, format.
pub type Key = (u32, u32, Fit, u8, Format);

/// Every variant the spec produces for one original ([`Spec::produces`] holds for each), built
/// from its lists: the sizes with the default fit, then the presets.
pub fn variants(spec: &Spec) -> BTreeSet<Key> {
    let fit = spec.default_fit();
    let quality_of = |f: Format, q: u8| {
        if f.ignores_quality() {
            spec.default_quality()
        } else {
            q
        }
    };
    let mut out = BTreeSet::new();
    if !spec.presets_only() {
        let mut sizes = vec![(0, 0)];
        sizes.extend(spec.widths().iter().map(|&w| (w, 0)));
        sizes.extend(spec.heights().iter().map(|&h| (0, h)));
        for &w in spec.widths() {
            sizes.extend(spec.ratios().iter().map(|r| (w, r.height(w))));
        }
        for (w, h) in sizes {
            for &f in spec.formats() {
                for &q in spec.qualities() {
                    out.insert((w, h, fit, quality_of(f, q), f));
                }
            }
        }
    }
    for p in spec.presets().values() {
        let formats = p.format.map_or(spec.formats().to_vec(), |f| vec![f]);
        for f in formats {
            out.insert((p.width, p.height, p.fit, quality_of(f, p.quality), f));
        }
    }
    out
}

impl Budget {
    pub fn of(spec: &Spec) -> Budget {
        let side = u64::from(WORST_SOURCE_SIDE);
        let clamp = |v: u32| u64::from(v).min(side);
        // Output pixels on a square source, never enlarged.
        let pixels = |w: u32, h: u32, fit: Fit| -> u64 {
            let (w, h) = (clamp(w), clamp(h));
            match (w, h) {
                (0, 0) => side * side,
                (w, 0) => w * w,
                (0, h) => h * h,
                (w, h) => match fit {
                    Fit::Inside => w.min(h).pow(2),
                    Fit::Outside => w.max(h).pow(2),
                    Fit::Cover | Fit::Fill | Fit::Contain => w * h,
                },
            }
        };
        let keys = variants(spec);
        let geometries: BTreeSet<(u32, u32, Fit)> = keys.iter().map(|k| (k.0, k.1, k.2)).collect();
        let pixels_by_format = spec
            .formats()
            .iter()
            .map(|&f| {
                let p = keys
                    .iter()
                    .filter(|k| k.4 == f)
                    .map(|k| pixels(k.0, k.1, k.2))
                    .sum();
                (f, p)
            })
            .collect();
        Budget {
            variants: keys.len() as u64,
            geometries: geometries.len() as u64,
            pixels_by_format,
        }
    }

    pub fn pixels(&self) -> u64 {
        self.pixels_by_format.iter().map(|(_, p)| p).sum()
    }

    /// The one line `serve` and `deploy --dry-run` print.
    pub fn summary(&self) -> String {
        format!(
            "{} variants per original, up to {:.1} gigapixels of output for one 50 MP photo (details: scalefront spec)",
            group(self.variants),
            self.pixels() as f64 / 1e9
        )
    }
}

/// 13130 → "13,130".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;

    /// The count is the number of keys the origin accepts: enumerate every key and parse it.
    #[test]
    fn the_count_is_the_keys_the_origin_accepts() {
        let presets = "[presets.thumb]\nwidth = 200\nheight = 200\nquality = 60\n[presets.hero]\nwidth = 1600\nformat = \"webp\"\n[presets.card]\nwidth = 100\nheight = 77\nfit = \"contain\"\n";
        for spec in [
            Spec::default(),
            Spec::from_toml(
                "widths = [100, 200]\nheights = [50]\nratios = [\"4:3\", \"1:8\"]\nqualities = [60, 80]\nquality = 60\nformats = [\"webp\", \"png\"]\nauto = [\"webp\"]\n[extensions]\npng = \"png\"\n",
            )
            .unwrap(),
            Spec::from_toml(presets).unwrap(),
            Spec::from_toml(&format!("presets_only = true\n{presets}")).unwrap(),
        ] {
            let mut dims: BTreeSet<u32> = [0].into_iter().collect();
            dims.extend(spec.widths().iter().chain(spec.heights()));
            for &w in spec.widths() {
                dims.extend(spec.ratios().iter().map(|r| r.height(w)));
            }
            for p in spec.presets().values() {
                dims.extend([p.width, p.height]);
            }
            // Every quality a key could carry, and a few no list holds.
            let mut qualities: BTreeSet<u8> = [1, 2, 99, 100].into_iter().collect();
            qualities.extend(spec.qualities());
            qualities.extend(spec.presets().values().map(|p| p.quality));
            let mut accepted = BTreeSet::new();
            for &w in &dims {
                for &h in &dims {
                    for &fit in &Fit::ALL {
                        for &format in &Format::ALL {
                            for &q in &qualities {
                                let v = Variant { width: w, height: h, fit, quality: q, format, source_key: "a.png".into() };
                                if Variant::parse(&spec, &v.key(&spec)).is_ok() {
                                    accepted.insert((w, h, fit, q, format));
                                }
                            }
                        }
                    }
                }
            }
            assert_eq!(variants(&spec), accepted);
            assert_eq!(Budget::of(&spec).variants, accepted.len() as u64);
        }
        // The default spec: (1 unsized + 16 widths + 16 widths × 5 shapes) × 4 formats at one quality.
        assert_eq!(Budget::of(&Spec::default()).variants, 388);
    }
}
