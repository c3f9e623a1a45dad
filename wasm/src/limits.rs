//! Step 1, **limits**: every size an attacker controls, checked from the header before any pixel
//! buffer exists. All security limits live in this one struct.
use crate::cost::{self, JpegFrame, Source};
use crate::error::{Error, Result};
use crate::geometry::Plan;
use crate::probe::{self, Info, SourceFormat};
use crate::transform::{Format, Transform};

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
    /// Largest AVIF output. Default 3 MiP (2048 × 1536 fits): rav1e is the slow encoder
    /// (1.45 s a megapixel in wasm at q75 and speed 10 on a finely textured photo, 3.2 s at
    /// q100; see [`crate::cost::AVIF_WASM_MS_PER_MP`]), so an unsized AVIF of a 50 MP JPEG,
    /// scaled down to 3 MiP, stays well within `max_work_ms`. Like `max_output_pixels`, a transform without a size is scaled down to it
    /// and a sized one above it refused. It shapes output bytes, so every host keeps the same.
    pub max_avif_pixels: u64,
    /// Most memory one transform may take, as [`crate::cost`] estimates it (every buffer of the
    /// largest step: the input, a progressive JPEG's coefficients, the decoded image, the
    /// resize's rows, the output, the encoder's working memory). Default 512 MiB: the largest
    /// ordinary case, a 50 MP baseline JPEG re-encoded at the 32 MiP output cap, is estimated at
    /// ~460 MB; the functions get 1,769 MB (`infra`'s default), which also hold Node.js, the
    /// module, the body as read and the response. Refused over it: a 16-bit RGBA PNG
    /// above ~44 MP, a progressive 4:4:4 JPEG above ~44 MP decoded at full size.
    pub max_memory_bytes: u64,
    /// Most work one transform may take: estimated milliseconds on one core of the wasm build
    /// ([`crate::cost`]; native builds run ~1.3–2.4× faster). Refused up front, never a timeout
    /// (a timeout is not cached and would be replayed). Default 22,000: Lambda@Edge's
    /// origin-response functions time out at 30 s; the other 8 s hold the reads, the write, a
    /// cold start and a slower CPU (the estimate already takes the slowest photo measured and
    /// wasm's largest factor). A host with more time passes its own (`config.json`'s
    /// `limits.maxWorkMs`).
    pub max_work_ms: u64,
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
            max_avif_pixels: 3 << 20,
            max_memory_bytes: 512 << 20,
            max_work_ms: 22_000,
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
    /// Returns what the cost estimate needs from the header.
    pub(crate) fn check_body(&self, input: &[u8], info: &Info) -> Result<Source> {
        let (w, h) = (info.stored_width, info.stored_height);
        let source = |decoder_bpp, pixel_bpp| Source {
            format: info.format,
            width: w,
            height: h,
            input_bytes: input.len() as u64,
            decoder_bpp,
            pixel_bpp,
            jpeg: None,
            gif_frame: None,
        };
        match info.format {
            SourceFormat::Jpeg => {
                let scans = probe::jpeg_scans(input, self.max_jpeg_scans);
                if scans > self.max_jpeg_scans {
                    return Err(Error::too_large(format!(
                        "the JPEG has more than {} scans (the limit)",
                        self.max_jpeg_scans
                    )));
                }
                let (progressive, sampling) = probe::jpeg_frame(input)
                    .ok_or_else(|| Error::corrupt("the JPEG frame header cannot be read"))?;
                let bpp = if sampling.len() == 1 {
                    1
                } else {
                    sampling.len().min(4) as u32
                };
                Ok(Source {
                    jpeg: Some(JpegFrame {
                        progressive,
                        sampling,
                        scans,
                    }),
                    ..source(bpp, bpp)
                })
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
                let (decoder_bpp, pixel_bpp) = probe::png_layout(input);
                Ok(source(decoder_bpp, pixel_bpp))
            }
            // The screen passed `max_pixels`; a frame is decoded at its own size (a 1×1 screen
            // may hold a 10000×10000 frame), so every frame is held to it too. A frame reaching
            // past the screen is clipped by decoders and browsers alike: no refusal for that.
            SourceFormat::Gif => {
                let frames = probe::gif_frames(input);
                for f in &frames {
                    if u64::from(f.width) * u64::from(f.height) > self.max_pixels {
                        return Err(Error::too_large(format!(
                            "a GIF frame is {}×{}; the limit is {:.1} megapixels",
                            f.width,
                            f.height,
                            self.max_pixels as f64 / 1e6
                        )));
                    }
                }
                // The first frame is decoded; off the screen's exact rectangle, into its own buffer.
                let own = frames
                    .first()
                    .filter(|f| (f.left, f.top, f.width, f.height) != (0, 0, w, h))
                    .map(|f| (f.width, f.height));
                Ok(Source {
                    gif_frame: own,
                    ..source(4, 4)
                })
            }
            SourceFormat::Webp => Ok(source(4, 4)),
        }
    }

    /// The estimated memory and work of `plan` against `max_memory_bytes` and `max_work_ms`,
    /// before anything is decoded.
    pub(crate) fn check_cost(
        &self,
        source: &Source,
        plan: &Plan,
        t: &Transform,
    ) -> Result<cost::Estimate> {
        let format = t.format;
        let e = cost::estimate(source, plan, format, t.quality);
        let (w, h) = plan.output;
        if e.memory_bytes > self.max_memory_bytes {
            return Err(Error::too_large(format!(
                "a {w}×{h} {format} of this image would need about {} MiB of memory ({} step, estimated); the memory limit is {} MiB",
                e.memory_bytes.div_ceil(1 << 20),
                e.memory_phase,
                self.max_memory_bytes >> 20
            )));
        }
        if e.work_ms > self.max_work_ms {
            return Err(Error::too_large(format!(
                "a {w}×{h} {format} of this image would take about {:.1} s of work (estimated); the time limit is {:.1} s a request",
                e.work_ms as f64 / 1000.0,
                self.max_work_ms as f64 / 1000.0
            )));
        }
        Ok(e)
    }

    /// The output-pixel cap for `format`: `max_output_pixels`, and `max_avif_pixels` for AVIF.
    pub fn max_pixels_for(&self, format: Format) -> u64 {
        match format {
            Format::Avif => self.max_output_pixels.min(self.max_avif_pixels),
            _ => self.max_output_pixels,
        }
    }

    /// The geometry of `t` on this image, within [`Limits::max_pixels_for`] its format: a
    /// transform without a size (or, for AVIF, with a free side) is scaled down to fit (one
    /// output per key still: the cap is part of the recipe), a sized one over it is refused.
    pub(crate) fn plan(&self, info: &Info, t: &Transform) -> Result<Plan> {
        let plan = Plan::new(info.stored_width, info.stored_height, info.orientation, t);
        let pixels = |p: &Plan| u64::from(p.output.0) * u64::from(p.output.1);
        let cap = self.max_pixels_for(t.format);
        if pixels(&plan) <= cap {
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
        // AVIF's own cap on a request with a free side: the photo's shape, not the page, made the
        // pixels (a 9:20 screenshot at w=1200 is 3.2 MP), and f=auto picks AVIF by the one side it
        // knows — scaled down like an unsized one. A box over it is refused.
        let avif_free_side =
            cap < self.max_output_pixels && (t.width.is_none() || t.height.is_none());
        if (t.width.is_some() || t.height.is_some()) && !unconstrained && !avif_free_side {
            let which = if cap < self.max_output_pixels {
                " for AVIF output"
            } else {
                ""
            };
            return Err(Error::too_large(format!(
                "the output would be {}×{} ({:.1} megapixels); the limit{which} is {:.1} megapixels",
                plan.output.0,
                plan.output.1,
                pixels(&plan) as f64 / 1e6,
                cap as f64 / 1e6
            )));
        }
        let scale = (cap as f64 / pixels(&plan) as f64).sqrt();
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
            if pixels(&p) <= cap || width == 1 {
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
