//! Step 3, **resize**: Lanczos3 convolution (fast_image_resize: SSE4.1/AVX2 natively, simd128 in
//! wasm) from the decoded pixels to the planned size, cropping with sub-pixel precision.
//!
//! Gamma-aware: RGB and grey are resampled in linear light (sRGB → 16-bit linear → resize → sRGB),
//! so fine detail keeps its brightness instead of averaging to a darker grey; alpha is
//! premultiplied. CMYK (ink amounts, no meaningful gamma) is resampled as stored.
use crate::error::{Error, Result};
use crate::geometry::Rect;
use crate::pixels::{Layout, Pixels};
use fast_image_resize as fr;
use std::cell::RefCell;
use std::sync::OnceLock;

fn srgb() -> &'static fr::PixelComponentMapper {
    static MAPPER: OnceLock<fr::PixelComponentMapper> = OnceLock::new();
    MAPPER.get_or_init(fr::create_srgb_mapper)
}

thread_local! {
    // Keeps the convolution's scratch buffers between calls.
    static RESIZER: RefCell<fr::Resizer> = RefCell::new(fr::Resizer::new());
}

fn internal<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::internal(format!("{what}: {e}"))
}

/// `crop` is in the decoded image's coordinates; `to` is the output size.
pub fn resize(src: Pixels, crop: Rect, to: (u32, u32)) -> Result<Pixels> {
    let full = crop.left == 0.0
        && crop.top == 0.0
        && crop.width == f64::from(src.width)
        && crop.height == f64::from(src.height);
    if full && to == (src.width, src.height) {
        return Ok(src);
    }
    let (t8, t16) = match src.layout {
        Layout::Gray => (fr::PixelType::U8, fr::PixelType::U16),
        Layout::Rgb => (fr::PixelType::U8x3, fr::PixelType::U16x3),
        Layout::Rgba | Layout::Cmyk => (fr::PixelType::U8x4, fr::PixelType::U16x4),
    };
    // Premultiplying is exact but costs a pass; an opaque alpha channel needs none.
    let use_alpha = src.has_transparency();
    let opts = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .crop(crop.left, crop.top, crop.width, crop.height)
        .use_alpha(use_alpha);
    let src_img = fr::images::ImageRef::new(src.width, src.height, &src.data, t8)
        .map_err(internal("source"))?;
    let mut out = fr::images::Image::new(to.0, to.1, t8);
    RESIZER.with_borrow_mut(|resizer| -> Result<()> {
        if src.layout == Layout::Cmyk {
            return resizer
                .resize(&src_img, &mut out, &opts)
                .map_err(internal("resize"));
        }
        let mut linear = fr::images::Image::new(src.width, src.height, t16);
        srgb()
            .forward_map(&src_img, &mut linear)
            .map_err(internal("linearise"))?;
        let mut small = fr::images::Image::new(to.0, to.1, t16);
        resizer
            .resize(&linear, &mut small, &opts)
            .map_err(internal("resize"))?;
        drop(linear);
        srgb()
            .backward_map(&small, &mut out)
            .map_err(internal("encode gamma"))
    })?;
    Ok(Pixels::new(to.0, to.1, src.layout, out.into_vec()))
}
