//! Step 1, **limits**: every size an attacker controls, checked from the header before any pixel
//! buffer exists. All security limits live in this one struct.
use crate::error::{Error, Result};
use crate::geometry::Plan;
use crate::probe::{self, Info, SourceFormat};
use crate::transform::Transform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input file. Default 40 MiB: more than any camera JPEG, and a bound on what a
    /// Lambda reads into memory.
    pub max_input_bytes: usize,
    /// Largest decoded image (width × height as the header declares it). Default 50 MP, which covers
    /// 8K and 48 MP phone sensors; a few-KB PNG declaring 65536 × 65536 (4.3 GP) stops here.
    pub max_pixels: u64,
    /// Largest requested output width or height. Default 8192: twice a 4K screen's width.
    pub max_output_dim: u32,
    /// Largest output image. Default 32 MiP (8K UHD, 7680 × 4320, fits): a transform without a
    /// size is scaled down to it rather than re-encoding a 50 MP original whole; a sized one
    /// above it is refused.
    pub max_output_pixels: u64,
    /// Most scans in a JPEG. Default 64: libjpeg's progressive script has 10, the most elaborate
    /// encoders stay below 20; each scan is a pass over every coefficient, so a file of thousands
    /// of tiny scans costs minutes of decoding.
    pub max_jpeg_scans: u32,
    /// Largest inflated metadata chunk of a PNG (iCCP, zTXt, iTXt). Default 4 MiB: ICC profiles
    /// are kilobytes to a few hundred; a 0.5 MB file can otherwise inflate to hundreds of MB.
    pub max_metadata_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 40 << 20,
            max_pixels: 50_000_000,
            max_output_dim: 8192,
            max_output_pixels: 32 << 20,
            max_jpeg_scans: 64,
            max_metadata_bytes: 4 << 20,
        }
    }
}

impl Limits {
    pub(crate) fn check_input(&self, input: &[u8]) -> Result<()> {
        self.check_size(input.len() as u64)
    }

    /// The file's size, known before it is read (S3's `Content-Length`).
    pub fn check_size(&self, size: u64) -> Result<()> {
        if size == 0 {
            return Err(Error::corrupt("the file is empty (0 bytes)"));
        }
        if size > self.max_input_bytes as u64 {
            return Err(Error::too_large(format!(
                "the file is {size} bytes; the limit is {} bytes",
                self.max_input_bytes
            )));
        }
        Ok(())
    }

    pub(crate) fn check_header(&self, info: &Info) -> Result<()> {
        let pixels = u64::from(info.stored_width) * u64::from(info.stored_height);
        if pixels > self.max_pixels {
            return Err(Error::too_large(format!(
                "the image is {}×{} ({:.1} megapixels); the limit is {:.1} megapixels",
                info.stored_width,
                info.stored_height,
                pixels as f64 / 1e6,
                self.max_pixels as f64 / 1e6
            )));
        }
        Ok(())
    }

    /// What only the whole file shows, checked before the decoder runs: a JPEG's scan count,
    /// a PNG's inflated metadata, a GIF's frames against its logical screen and `max_pixels`.
    pub(crate) fn check_body(&self, input: &[u8], info: &Info) -> Result<()> {
        match info.format {
            SourceFormat::Jpeg => {
                let scans = probe::jpeg_scans(input, self.max_jpeg_scans);
                if scans > self.max_jpeg_scans {
                    return Err(Error::too_large(format!(
                        "the JPEG has more than {} scans (the limit)",
                        self.max_jpeg_scans
                    )));
                }
            }
            // One budget for all of them: many small bombs cost as much as one large one.
            SourceFormat::Png => {
                let mut left = self.max_metadata_bytes;
                for (kind, data) in probe::png_compressed_chunks(input) {
                    match miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, left) {
                        Ok(inflated) => left -= inflated.len(),
                        Err(e) if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                            return Err(Error::too_large(format!(
                                "the PNG's {kind} chunk inflates past the {} bytes its metadata may take (the limit)",
                                self.max_metadata_bytes
                            )))
                        }
                        Err(_) => {
                            return Err(Error::corrupt(format!(
                                "the PNG's {kind} chunk cannot be inflated"
                            )))
                        }
                    }
                }
            }
            // The screen passed `max_pixels`; a frame is decoded at its own size (a 1×1 screen
            // may hold a 10000×10000 frame), so every frame is held to it too. A frame reaching
            // past the screen is clipped by decoders and browsers alike: no refusal for that.
            SourceFormat::Gif => {
                for f in probe::gif_frames(input) {
                    if u64::from(f.width) * u64::from(f.height) > self.max_pixels {
                        return Err(Error::too_large(format!(
                            "a GIF frame is {}×{}; the limit is {:.1} megapixels",
                            f.width,
                            f.height,
                            self.max_pixels as f64 / 1e6
                        )));
                    }
                }
            }
            SourceFormat::Webp => {}
        }
        Ok(())
    }

    /// The geometry of `t` on this image, within `max_output_pixels`: a transform without a size
    /// is scaled down to fit (one output per key still: the cap is part of the recipe), a sized
    /// one over it is refused.
    pub(crate) fn plan(&self, info: &Info, t: &Transform) -> Result<Plan> {
        let plan = Plan::new(info.stored_width, info.stored_height, info.orientation, t);
        let pixels = |p: &Plan| u64::from(p.output.0) * u64::from(p.output.1);
        if pixels(&plan) <= self.max_output_pixels {
            return Ok(plan);
        }
        // A box that does not constrain the output (never enlarged) asks for the original's
        // size: treated as no size at all.
        let free = Transform {
            width: None,
            height: None,
            ..t.clone()
        };
        let unconstrained = Plan::new(
            info.stored_width,
            info.stored_height,
            info.orientation,
            &free,
        )
        .output
            == plan.output;
        if (t.width.is_some() || t.height.is_some()) && !unconstrained {
            return Err(Error::too_large(format!(
                "the output would be {}×{} ({:.1} megapixels); the limit is {:.1} megapixels",
                plan.output.0,
                plan.output.1,
                pixels(&plan) as f64 / 1e6,
                self.max_output_pixels as f64 / 1e6
            )));
        }
        let scale = (self.max_output_pixels as f64 / pixels(&plan) as f64).sqrt();
        let mut width = ((f64::from(plan.output.0) * scale).floor() as u32).max(1);
        loop {
            let capped = Transform {
                width: Some(width),
                ..free.clone()
            };
            let p = Plan::new(
                info.stored_width,
                info.stored_height,
                info.orientation,
                &capped,
            );
            if pixels(&p) <= self.max_output_pixels || width == 1 {
                return Ok(p);
            }
            width -= 1;
        }
    }

    pub(crate) fn check_transform(&self, t: &Transform) -> Result<()> {
        for (name, v) in [("width", t.width), ("height", t.height)] {
            if let Some(v) = v.filter(|&v| v > self.max_output_dim) {
                return Err(Error::too_large(format!(
                    "requested {name} {v} px is over the limit of {} px",
                    self.max_output_dim
                )));
            }
        }
        Ok(())
    }
}
