//! The pure geometry pass: source size + orientation + transform → every size the pipeline uses.
//! No pixels here; tested by tables of input size → output size.
//!
//! Fits follow sharp. The image is never enlarged: when a fit would need a scale above 1, the
//! requested box shrinks by that factor instead, so `cover` 1000×1000 of an 800×600 photo gives a
//! 600×600 crop (same aspect as asked, no upscaling), and `inside`/`outside` return the source size.
use crate::exif::swaps_axes;
use crate::transform::{Fit, Transform};

/// A rectangle in source pixels (fractional: the resampler crops with sub-pixel precision).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// EXIF orientation the source is stored with (1..=8).
    pub orientation: u8,
    /// Source size as stored.
    pub stored: (u32, u32),
    /// Source region that is resampled, in displayed (oriented) coordinates.
    pub crop: Rect,
    /// Size of the resampled image, displayed orientation.
    pub resized: (u32, u32),
    /// Output size (the canvas: larger than `resized` only for `contain`).
    pub output: (u32, u32),
    /// Top-left of the resampled image on the canvas.
    pub offset: (u32, u32),
}

fn px(v: f64) -> u32 {
    (v.round() as u32).max(1)
}

impl Plan {
    pub fn new(stored_width: u32, stored_height: u32, orientation: u8, t: &Transform) -> Plan {
        let (sw, sh) = (stored_width, stored_height);
        let (w, h) = if swaps_axes(orientation) {
            (sh, sw)
        } else {
            (sw, sh)
        };
        let (wf, hf) = (f64::from(w), f64::from(h));
        let full = Rect {
            left: 0.0,
            top: 0.0,
            width: wf,
            height: hf,
        };
        let plain = |resized: (u32, u32)| Plan {
            orientation,
            stored: (sw, sh),
            crop: full,
            resized,
            output: resized,
            offset: (0, 0),
        };
        match (t.width, t.height) {
            (None, None) => plain((w, h)),
            (Some(bw), None) => plain(if bw >= w {
                (w, h)
            } else {
                (bw, px(hf * f64::from(bw) / wf))
            }),
            (None, Some(bh)) => plain(if bh >= h {
                (w, h)
            } else {
                (px(wf * f64::from(bh) / hf), bh)
            }),
            (Some(bw), Some(bh)) => {
                let (bwf, bhf) = (f64::from(bw), f64::from(bh));
                let (sx, sy) = (bwf / wf, bhf / hf);
                match t.fit {
                    Fit::Inside | Fit::Contain => {
                        // The limiting axis gets exactly the box's size (no rounding drift).
                        let resized = if sx >= 1.0 && sy >= 1.0 {
                            (w, h)
                        } else if sx <= sy {
                            (bw, px(hf * sx))
                        } else {
                            (px(wf * sy), bh)
                        };
                        if t.fit == Fit::Inside {
                            return plain(resized);
                        }
                        let s = sx.min(sy);
                        let canvas = if s > 1.0 {
                            (px(bwf / s), px(bhf / s))
                        } else {
                            (bw, bh)
                        };
                        let canvas = (canvas.0.max(resized.0), canvas.1.max(resized.1));
                        Plan {
                            output: canvas,
                            offset: ((canvas.0 - resized.0) / 2, (canvas.1 - resized.1) / 2),
                            ..plain(resized)
                        }
                    }
                    Fit::Outside => {
                        let s = sx.max(sy);
                        let resized = if s >= 1.0 {
                            (w, h)
                        } else if sx >= sy {
                            (bw, px(hf * sx))
                        } else {
                            (px(wf * sy), bh)
                        };
                        plain(resized)
                    }
                    Fit::Cover => {
                        let s = sx.max(sy);
                        // Source region with the box's aspect ratio, centred.
                        let (cw, ch) = ((bwf / s).min(wf), (bhf / s).min(hf));
                        let crop = Rect {
                            left: (wf - cw) / 2.0,
                            top: (hf - ch) / 2.0,
                            width: cw,
                            height: ch,
                        };
                        let resized = if s > 1.0 { (px(cw), px(ch)) } else { (bw, bh) };
                        Plan {
                            crop,
                            ..plain(resized)
                        }
                    }
                    Fit::Fill => {
                        let m = sx.max(sy);
                        plain(if m > 1.0 {
                            (px(bwf / m), px(bhf / m))
                        } else {
                            (bw, bh)
                        })
                    }
                }
            }
        }
    }

    /// Displayed source size.
    pub fn displayed(&self) -> (u32, u32) {
        if swaps_axes(self.orientation) {
            (self.stored.1, self.stored.0)
        } else {
            self.stored
        }
    }

    /// The resampled size in stored orientation (the resize runs before the rotation, on fewer pixels).
    pub fn stored_resized(&self) -> (u32, u32) {
        if swaps_axes(self.orientation) {
            (self.resized.1, self.resized.0)
        } else {
            self.resized
        }
    }

    /// The crop in stored coordinates: where the displayed region lies in the decoded pixels.
    pub fn stored_crop(&self) -> Rect {
        let (dw, dh) = self.displayed();
        let (dw, dh) = (f64::from(dw), f64::from(dh));
        let Rect {
            left: l,
            top: t,
            width: w,
            height: h,
        } = self.crop;
        let r = |left, top, width, height| Rect {
            left,
            top,
            width,
            height,
        };
        match self.orientation {
            2 => r(dw - l - w, t, w, h),
            3 => r(dw - l - w, dh - t - h, w, h),
            4 => r(l, dh - t - h, w, h),
            5 => r(t, l, h, w),
            6 => r(t, dw - l - w, h, w),
            7 => r(dh - t - h, dw - l - w, h, w),
            8 => r(dh - t - h, l, h, w),
            _ => self.crop,
        }
    }

    /// Smallest decoded size (stored orientation) that keeps at least 2 source pixels per output
    /// pixel: shrink-on-load may go down to this, and Lanczos3 does the rest.
    pub fn min_decode(&self) -> (u32, u32) {
        let c = self.stored_crop();
        let (rw, rh) = self.stored_resized();
        let (sw, sh) = self.stored;
        let need = |full: u32, crop: f64, out: u32| -> u32 {
            let factor = (2.0 * f64::from(out) / crop).min(1.0);
            ((f64::from(full) * factor).ceil() as u32).clamp(1, full)
        };
        (need(sw, c.width, rw), need(sh, c.height, rh))
    }

    pub fn is_identity_resize(&self) -> bool {
        let (w, h) = self.displayed();
        self.resized == (w, h)
            && self.crop.width == f64::from(w)
            && self.crop.height == f64::from(h)
    }
}

/// The JPEG IDCT scale M (decoding at M/8 of the stored size, 1..=8) for a decode of at least
/// `min` pixels: the smallest M whose output, rounded up as the decoder rounds it, reaches `min`
/// on both axes.
pub fn jpeg_scale(stored: (u32, u32), min: (u32, u32)) -> u32 {
    let scaled = |len: u32, m: u32| (u64::from(len) * u64::from(m)).div_ceil(8);
    (1..8)
        .find(|&m| {
            scaled(stored.0, m) >= u64::from(min.0) && scaled(stored.1, m) >= u64::from(min.1)
        })
        .unwrap_or(8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::Fit::*;

    fn t(w: Option<u32>, h: Option<u32>, fit: Fit) -> Transform {
        Transform {
            width: w,
            height: h,
            fit,
            ..Transform::default()
        }
    }

    #[test]
    fn output_sizes() {
        // (source w, h, orientation, width, height, fit) → (output, resized)
        #[rustfmt::skip]
        type Row = ((u32, u32, u8), (Option<u32>, Option<u32>, Fit), (u32, u32), (u32, u32));
        let table: &[Row] = &[
            (
                (5120, 2880, 1),
                (Some(1600), None, Inside),
                (1600, 900),
                (1600, 900),
            ),
            (
                (5120, 2880, 1),
                (None, Some(600), Inside),
                (1067, 600),
                (1067, 600),
            ),
            (
                (5120, 2880, 1),
                (Some(600), Some(600), Inside),
                (600, 338),
                (600, 338),
            ),
            (
                (5120, 2880, 1),
                (Some(600), Some(600), Outside),
                (1067, 600),
                (1067, 600),
            ),
            (
                (5120, 2880, 1),
                (Some(600), Some(600), Cover),
                (600, 600),
                (600, 600),
            ),
            (
                (5120, 2880, 1),
                (Some(600), Some(600), Contain),
                (600, 600),
                (600, 338),
            ),
            (
                (5120, 2880, 1),
                (Some(600), Some(600), Fill),
                (600, 600),
                (600, 600),
            ),
            // Only one dimension: every fit keeps the aspect ratio.
            (
                (5120, 2880, 1),
                (Some(600), None, Cover),
                (600, 338),
                (600, 338),
            ),
            (
                (5120, 2880, 1),
                (Some(600), None, Fill),
                (600, 338),
                (600, 338),
            ),
            // Never enlarge.
            (
                (800, 600, 1),
                (Some(1000), None, Inside),
                (800, 600),
                (800, 600),
            ),
            (
                (800, 600, 1),
                (Some(1000), Some(1000), Inside),
                (800, 600),
                (800, 600),
            ),
            (
                (800, 600, 1),
                (Some(1000), Some(1000), Outside),
                (800, 600),
                (800, 600),
            ),
            (
                (800, 600, 1),
                (Some(1000), Some(1000), Cover),
                (600, 600),
                (600, 600),
            ),
            (
                (800, 600, 1),
                (Some(1000), Some(1000), Contain),
                (800, 800),
                (800, 600),
            ),
            (
                (800, 600, 1),
                (Some(1000), Some(1000), Fill),
                (600, 600),
                (600, 600),
            ),
            (
                (800, 600, 1),
                (Some(400), Some(1200), Cover),
                (200, 600),
                (200, 600),
            ),
            (
                (800, 600, 1),
                (Some(800), Some(600), Cover),
                (800, 600),
                (800, 600),
            ),
            // Orientation 5..8 swaps the displayed axes.
            (
                (5120, 2880, 6),
                (Some(600), None, Inside),
                (600, 1067),
                (600, 1067),
            ),
            (
                (5120, 2880, 8),
                (Some(600), Some(600), Cover),
                (600, 600),
                (600, 600),
            ),
            (
                (5120, 2880, 3),
                (Some(600), None, Inside),
                (600, 338),
                (600, 338),
            ),
            // Extreme aspect ratios keep at least one pixel.
            ((10000, 1, 1), (Some(10), None, Inside), (10, 1), (10, 1)),
            ((1, 10000, 1), (None, Some(10), Inside), (1, 10), (1, 10)),
            ((3, 3, 1), (Some(1), Some(1), Cover), (1, 1), (1, 1)),
        ];
        for &((sw, sh, o), (w, h, fit), output, resized) in table {
            let p = Plan::new(sw, sh, o, &t(w, h, fit));
            assert_eq!(
                (p.output, p.resized),
                (output, resized),
                "{sw}x{sh} o{o} {w:?}x{h:?} {fit:?}"
            );
            assert!(
                p.offset.0 + p.resized.0 <= p.output.0 && p.offset.1 + p.resized.1 <= p.output.1
            );
        }
    }

    #[test]
    fn cover_crops_centre_with_box_aspect() {
        let p = Plan::new(5120, 2880, 1, &t(Some(600), Some(600), Cover));
        assert_eq!(
            p.crop,
            Rect {
                left: 1120.0,
                top: 0.0,
                width: 2880.0,
                height: 2880.0
            }
        );
        let p = Plan::new(800, 600, 1, &t(Some(1000), Some(500), Cover));
        assert_eq!(
            p.crop,
            Rect {
                left: 0.0,
                top: 100.0,
                width: 800.0,
                height: 400.0
            }
        );
        assert_eq!(p.output, (800, 400));
    }

    #[test]
    fn contain_centres_on_canvas() {
        let p = Plan::new(5120, 2880, 1, &t(Some(600), Some(600), Contain));
        assert_eq!(p.offset, (0, 131));
    }

    #[test]
    fn stored_crop_maps_each_orientation() {
        // Stored 400×200; a displayed crop of the left edge lands where each orientation puts it.
        let mut p = Plan::new(400, 200, 1, &t(None, None, Inside));
        let expect = [
            (
                1,
                Rect {
                    left: 0.0,
                    top: 0.0,
                    width: 10.0,
                    height: 20.0,
                },
            ),
            (
                2,
                Rect {
                    left: 390.0,
                    top: 0.0,
                    width: 10.0,
                    height: 20.0,
                },
            ),
            (
                3,
                Rect {
                    left: 390.0,
                    top: 180.0,
                    width: 10.0,
                    height: 20.0,
                },
            ),
            (
                4,
                Rect {
                    left: 0.0,
                    top: 180.0,
                    width: 10.0,
                    height: 20.0,
                },
            ),
            (
                5,
                Rect {
                    left: 0.0,
                    top: 0.0,
                    width: 20.0,
                    height: 10.0,
                },
            ),
            (
                6,
                Rect {
                    left: 0.0,
                    top: 190.0,
                    width: 20.0,
                    height: 10.0,
                },
            ),
            (
                7,
                Rect {
                    left: 380.0,
                    top: 190.0,
                    width: 20.0,
                    height: 10.0,
                },
            ),
            (
                8,
                Rect {
                    left: 380.0,
                    top: 0.0,
                    width: 20.0,
                    height: 10.0,
                },
            ),
        ];
        for (o, want) in expect {
            p.orientation = o;
            p.crop = Rect {
                left: 0.0,
                top: 0.0,
                width: 10.0,
                height: 20.0,
            };
            assert_eq!(p.stored_crop(), want, "orientation {o}");
        }
    }

    #[test]
    fn min_decode_keeps_two_source_pixels_per_output_pixel() {
        let p = Plan::new(5120, 2880, 1, &t(Some(600), None, Inside));
        assert_eq!(p.min_decode(), (1200, 676));
        let p = Plan::new(5120, 2880, 1, &t(Some(1600), None, Inside));
        assert_eq!(p.min_decode(), (3200, 1800));
        let p = Plan::new(5120, 2880, 6, &t(Some(300), None, Inside));
        assert_eq!(p.min_decode(), (1066, 600));
        let p = Plan::new(800, 600, 1, &t(Some(1000), None, Inside));
        assert_eq!(p.min_decode(), (800, 600));
    }
}
