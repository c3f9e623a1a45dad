//! What a spec lets anyone make of one original: every canonical variant key it accepts (the
//! keys the origin's check lets through, I2), and the output pixels they add up to on a
//! worst-case source. `scalefront spec` prints it; `serve` and `deploy --dry-run` print the line.

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

impl Budget {
    pub fn of(spec: &Spec) -> Budget {
        let side = u64::from(WORST_SOURCE_SIDE);
        let clamp = |v: u32| u64::from(v).min(side);
        // Every (width, height, fit) the origin accepts: a free side takes the default fit.
        let mut geometries = Vec::new();
        let widths = std::iter::once(0).chain(spec.widths().iter().copied());
        for w in widths {
            let heights = std::iter::once(0).chain(spec.heights().iter().copied());
            for h in heights {
                if w == 0 || h == 0 {
                    geometries.push((w, h, spec.default_fit()));
                } else {
                    geometries.extend(Fit::ALL.iter().map(|&f| (w, h, f)));
                }
            }
        }
        // Output pixels on a square source, never enlarged.
        let pixels = |&(w, h, fit): &(u32, u32, Fit)| -> u64 {
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
        let total: u64 = geometries.iter().map(pixels).sum();
        let pixels_by_format: Vec<(Format, u64)> = spec
            .formats()
            .iter()
            .map(|&f| (f, total * qualities_of(spec, f)))
            .collect();
        let pairs: u64 = spec.formats().iter().map(|&f| qualities_of(spec, f)).sum();
        Budget {
            variants: geometries.len() as u64 * pairs,
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

/// Qualities a format's keys can carry: one for a lossless format.
fn qualities_of(spec: &Spec, f: Format) -> u64 {
    if f.ignores_quality() {
        1
    } else {
        spec.qualities().len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Variant;

    /// The count is the number of keys the origin accepts: enumerate every key and parse it.
    #[test]
    fn the_count_is_the_keys_the_origin_accepts() {
        for spec in [
            Spec::default(),
            Spec::from_toml(
                "widths = [100, 200]\nheights = [50]\nqualities = [60]\nquality = 60\nformats = [\"webp\", \"png\"]\nauto = [\"webp\"]\n[extensions]\npng = \"png\"\n",
            )
            .unwrap(),
        ] {
            let mut accepted = 0u64;
            let sizes = |l: &[u32]| std::iter::once(0).chain(l.iter().copied()).collect::<Vec<_>>();
            for w in sizes(spec.widths()) {
                for h in sizes(spec.heights()) {
                    for &fit in &Fit::ALL {
                        for &format in &Format::ALL {
                            for q in 1..=100u8 {
                                let v = Variant { width: w, height: h, fit, quality: q, format, source_key: "a.png".into() };
                                accepted += u64::from(Variant::parse(&spec, &v.key(&spec)).is_ok());
                            }
                        }
                    }
                }
            }
            assert_eq!(Budget::of(&spec).variants, accepted);
        }
        // The default spec: (1 + 16 + 16 + 16 × 16 × 5) geometries × 10 format/quality pairs.
        assert_eq!(Budget::of(&Spec::default()).variants, 13_130);
    }
}
