//! Step 1, **limits**: every size an attacker controls, checked from the header before any pixel
//! buffer exists. All security limits live in this one struct.
use crate::error::{Error, Result};
use crate::probe::Info;
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 40 << 20,
            max_pixels: 50_000_000,
            max_output_dim: 8192,
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
