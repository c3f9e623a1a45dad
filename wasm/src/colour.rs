//! Step 5, **colour**: everything that turns the resized pixels into what the encoder writes.
//! - ICC → sRGB (moxcms): RGB and CMYK profiles are converted, so the output carries no profile
//!   and looks the same in every browser. CMYK without a profile uses the naive
//!   `(1 − C)(1 − K)` formula (colours shift; there is no right answer without a profile).
//!   Grey profiles are converted for grey images (grey + alpha PNGs with a grey profile are read
//!   as sRGB grey). A profile that does not parse or that moxcms cannot link is ignored rather
//!   than failing the photo.
//! - Alpha is flattened onto the background when the output format has none (JPEG).
//! - `contain` pads onto a canvas of the background colour.
use crate::error::Result;
use crate::pixels::{Layout, Pixels};
use moxcms::{ColorProfile, DataColorSpace, Layout as CmsLayout, TransformOptions};

pub struct Finish {
    pub keep_alpha: bool,
    pub background: [u8; 3],
    pub canvas: (u32, u32),
    pub offset: (u32, u32),
}

pub fn colour(p: Pixels, icc: Option<&[u8]>, f: &Finish) -> Result<Pixels> {
    let p = to_srgb(p, icc);
    let p = if p.layout == Layout::Rgba && (!f.keep_alpha || !p.has_transparency()) {
        flatten(&p, f.background)
    } else {
        p
    };
    Ok(pad(p, f))
}

fn to_srgb(p: Pixels, icc: Option<&[u8]>) -> Pixels {
    let profile = icc.and_then(|b| ColorProfile::new_from_slice(b).ok());
    let srgb = ColorProfile::new_srgb();
    let convert = |src: CmsLayout, dst: CmsLayout, channels: usize| -> Option<Vec<u8>> {
        let prof = profile.as_ref()?;
        let x = prof
            .create_transform_8bit(src, &srgb, dst, TransformOptions::default())
            .ok()?;
        let mut out = vec![0u8; p.data.len() / src_channels(src) * channels];
        x.transform(&p.data, &mut out).ok()?;
        Some(out)
    };
    let space = profile.as_ref().map(|p| p.color_space);
    match p.layout {
        Layout::Cmyk => {
            let data = (space == Some(DataColorSpace::Cmyk))
                .then(|| convert(CmsLayout::Rgba, CmsLayout::Rgb, 3))
                .flatten()
                .unwrap_or_else(|| naive_cmyk(&p.data));
            Pixels::new(p.width, p.height, Layout::Rgb, data)
        }
        Layout::Rgb | Layout::Rgba if space == Some(DataColorSpace::Rgb) => {
            let l = if p.layout == Layout::Rgb {
                CmsLayout::Rgb
            } else {
                CmsLayout::Rgba
            };
            match convert(l, l, p.layout.channels()) {
                Some(data) => Pixels { data, ..p },
                None => p,
            }
        }
        // Grey with its own tone curve (scanners, "Dot Gain 20%", linear grey): through the
        // profile to sRGB; the result is neutral, so one channel of it is the grey.
        Layout::Gray if space == Some(DataColorSpace::Gray) => {
            match convert(CmsLayout::Gray, CmsLayout::Rgb, 3) {
                Some(rgb) => {
                    let data = rgb.chunks_exact(3).map(|px| px[1]).collect();
                    Pixels { data, ..p }
                }
                None => p,
            }
        }
        _ => p,
    }
}

fn src_channels(l: CmsLayout) -> usize {
    match l {
        CmsLayout::Rgb => 3,
        CmsLayout::Gray => 1,
        CmsLayout::GrayAlpha => 2,
        _ => 4,
    }
}

fn naive_cmyk(cmyk: &[u8]) -> Vec<u8> {
    let ink = |c: u8, k: u8| ((255 - u32::from(c)) * (255 - u32::from(k)) / 255) as u8;
    cmyk.chunks_exact(4)
        .flat_map(|p| [ink(p[0], p[3]), ink(p[1], p[3]), ink(p[2], p[3])])
        .collect()
}

/// Composites RGBA onto an opaque background (in sRGB values, as browsers composite).
fn flatten(p: &Pixels, bg: [u8; 3]) -> Pixels {
    let data = p
        .data
        .chunks_exact(4)
        .flat_map(|px| {
            let a = u32::from(px[3]);
            let mix =
                |c: u8, b: u8| ((u32::from(c) * a + u32::from(b) * (255 - a) + 127) / 255) as u8;
            [mix(px[0], bg[0]), mix(px[1], bg[1]), mix(px[2], bg[2])]
        })
        .collect();
    Pixels::new(p.width, p.height, Layout::Rgb, data)
}

fn pad(p: Pixels, f: &Finish) -> Pixels {
    let (cw, ch) = f.canvas;
    if (cw, ch) == (p.width, p.height) {
        return p;
    }
    // A grey image on a coloured background becomes RGB.
    let p = if p.layout == Layout::Gray
        && (f.background[0] != f.background[1] || f.background[1] != f.background[2])
    {
        let data = p.data.iter().flat_map(|&v| [v, v, v]).collect();
        Pixels::new(p.width, p.height, Layout::Rgb, data)
    } else {
        p
    };
    let c = p.layout.channels();
    let fill: Vec<u8> = match p.layout {
        Layout::Gray => vec![f.background[0]],
        Layout::Rgba => vec![f.background[0], f.background[1], f.background[2], 255],
        _ => f.background.to_vec(),
    };
    let mut data: Vec<u8> = fill
        .iter()
        .copied()
        .cycle()
        .take(cw as usize * ch as usize * c)
        .collect();
    let row = p.width as usize * c;
    for y in 0..p.height as usize {
        let d = ((y + f.offset.1 as usize) * cw as usize + f.offset.0 as usize) * c;
        data[d..d + row].copy_from_slice(&p.data[y * row..(y + 1) * row]);
    }
    Pixels::new(cw, ch, p.layout, data)
}
