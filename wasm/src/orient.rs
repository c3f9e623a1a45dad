//! Step 4, **orient**: apply the EXIF orientation (1..=8) to the pixels. It runs after the resize,
//! on the small image: the geometry pass already planned in displayed orientation, and rotating
//! 600 px costs a fraction of rotating 15 MP. The output carries no EXIF, so it is never re-applied.
use crate::exif::swaps_axes;
use crate::pixels::Pixels;

pub fn orient(src: Pixels, orientation: u8) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return src;
    }
    let (sw, sh) = (src.width as usize, src.height as usize);
    let (dw, dh) = if swaps_axes(orientation) {
        (sh, sw)
    } else {
        (sw, sh)
    };
    let c = src.layout.channels();
    let mut out = vec![0u8; src.data.len()];
    for y in 0..dh {
        for x in 0..dw {
            // The stored pixel shown at displayed (x, y); see geometry's stored_crop for the table.
            let (sx, sy) = match orientation {
                2 => (dw - 1 - x, y),
                3 => (dw - 1 - x, dh - 1 - y),
                4 => (x, dh - 1 - y),
                5 => (y, x),
                6 => (y, dw - 1 - x),
                7 => (dh - 1 - y, dw - 1 - x),
                _ => (dh - 1 - y, x),
            };
            let s = (sy * sw + sx) * c;
            let d = (y * dw + x) * c;
            out[d..d + c].copy_from_slice(&src.data[s..s + c]);
        }
    }
    Pixels::new(dw as u32, dh as u32, src.layout, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::Layout;

    /// A 3×2 grey image whose displayed form is always [[1,2,3],[4,5,6]] (or its transposed 2×3
    /// counterpart for 5..8): store it as each EXIF orientation would, then orient it back.
    #[test]
    fn every_orientation_restores_the_displayed_image() {
        let stored: [(u8, u32, u32, &[u8]); 8] = [
            (1, 3, 2, &[1, 2, 3, 4, 5, 6]),
            (2, 3, 2, &[3, 2, 1, 6, 5, 4]),
            (3, 3, 2, &[6, 5, 4, 3, 2, 1]),
            (4, 3, 2, &[4, 5, 6, 1, 2, 3]),
            (5, 2, 3, &[1, 4, 2, 5, 3, 6]),
            (6, 2, 3, &[3, 6, 2, 5, 1, 4]),
            (7, 2, 3, &[6, 3, 5, 2, 4, 1]),
            (8, 2, 3, &[4, 1, 5, 2, 6, 3]),
        ];
        for (o, w, h, data) in stored {
            let p = orient(Pixels::new(w, h, Layout::Gray, data.to_vec()), o);
            assert_eq!(
                (p.width, p.height, p.data.as_slice()),
                (3, 2, &[1u8, 2, 3, 4, 5, 6][..]),
                "orientation {o}"
            );
        }
    }
}
